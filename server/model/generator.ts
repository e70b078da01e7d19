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
  /** Releases the worker and session; safe to call twice. */
  close(): Promise<void>;
}
