/**
 * What the model worker runs: one way of turning slots into image tensors. A plain ONNX
 * generator (one latent input), the built-in CPPN, a manifest pipeline of several graphs
 * (StyleGAN mapping + synthesis) and a few-step diffusion folder all implement it, so the
 * worker, the converter and the dreamer do not care which one they drive.
 *
 * Pipelines are made in one place, server/model/load-pipeline.ts, from a
 * {@link PipelineContext}. Everything here runs inside the worker thread: onnxruntime's
 * run() blocks its thread.
 */
import type * as ort from 'onnxruntime-node';
import type { Layout, Range } from '../image/tensor.js';
import type { LatentDistribution } from '../options.js';

/** Milliseconds spent making the latents and running the graphs, for one call. */
export interface PipelineTimings {
  latent: number;
  inference: number;
}

export interface PipelineOutput {
  /**
   * The image tensor: [N, C, H, W], [N, H, W, C], [C, H, W], [H, W, C] or [H, W], with
   * N equal to the number of slots asked for (N = 1 for one slot).
   */
  tensor: ort.Tensor;
  timings: PipelineTimings;
}

/**
 * Opens an onnxruntime session on the execution provider the worker chose (the first
 * session decides it: `auto` tries the GPU, then falls back to CPU once). Pipelines of
 * several graphs call it once per graph. See server/model/session-factory.ts.
 */
export type SessionFactory = (model: string | Uint8Array, label?: string) => Promise<ort.InferenceSession>;

/**
 * The latent of a slot, `length` values: a pure function of (seed, slot) and the walk
 * (`--walk`, `--keyframes`). `distribution` overrides `--latent` (a manifest may fix it).
 */
export type LatentSource = (slot: number, length: number, distribution?: LatentDistribution) => Float32Array;

/** What every pipeline is built from: resolved options only, never raw user input. */
export interface PipelineContext {
  /** Opens every graph of the pipeline on the one provider. */
  readonly open: SessionFactory;
  /** Latents of slots. */
  readonly latent: LatentSource;
  /** StyleGAN truncation ψ (`--truncation`), for pipelines that have a w to truncate. */
  readonly truncation: number;
  /** Prompts of a text-to-image pipeline (`--prompt`, `--prompts`), one per slot in rotation. */
  readonly prompts: readonly string[];
  /** Denoising steps of a diffusion pipeline (`--steps`). */
  readonly steps: number;
}

/** Names for /healthz and logs: the latent input, its dims for one slot, the image output. */
export interface PipelineInfo {
  readonly input: string;
  readonly latentDims: readonly number[];
  readonly output: string;
}

export interface ImagePipeline {
  /** One line for logs and /healthz, e.g. `stylegan (mapping + synthesis)`. */
  readonly description: string;
  readonly info: PipelineInfo;
  /**
   * How to read the image tensor: its value range and channel layout, `auto` where the
   * pipeline does not know (the converter then detects them; `--range` wins over both).
   */
  readonly image: { readonly range: Range; readonly layout: Layout };
  /** Most slots one run() may be given (1 when no graph has a dynamic batch dimension). */
  readonly maxBatch: number;
  /**
   * The image tensor for these slots, stacked along the batch dimension in the same order.
   * A pure function of (seed, slot) and the pipeline's fixed inputs.
   */
  run(slots: readonly number[]): Promise<PipelineOutput>;
  /** Releases every session; safe to call twice. */
  release(): Promise<void>;
}
