import type { RgbImage } from '../image/tensor.js';

/** Milliseconds spent in each stage of making one image. */
export interface StageTimings {
  latent: number;
  inference: number;
  convert: number;
}

export interface GeneratedImage {
  readonly rgb: RgbImage;
  readonly timings: StageTimings;
}

/** Anything that turns a slot into an image. The dreamer owns exactly one. */
export interface Generator {
  /** What to call the model in /healthz and logs. */
  readonly name: string;
  /** Where inference runs: `cpu`, `cuda`, `webgpu`, or `js` for a plain function. */
  readonly device: string;
  /** The native output size before resizing, once known. */
  readonly nativeSize: { width: number; height: number } | null;
  generate(slot: number): Promise<GeneratedImage>;
  /**
   * Slots one {@link generateBatch} call makes at best. Absent or 1: the dreamer calls
   * generate() once per slot.
   */
  readonly batch?: number;
  /**
   * The images of these consecutive slots in one model run, in order. A slot whose image
   * failed (NaN, say) has its error in its place; a failed run rejects.
   */
  generateBatch?(slots: readonly number[]): Promise<(GeneratedImage | Error)[]>;
  /** Releases the worker and session; safe to call twice. */
  close(): Promise<void>;
}
