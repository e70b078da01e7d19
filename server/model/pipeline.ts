/**
 * What the model worker runs: one way of turning slots into image tensors. A plain ONNX
 * generator (one latent input), the built-in CPPN, a manifest pipeline of several graphs
 * (StyleGAN mapping + synthesis) and a few-step diffusion folder all implement it, so the
 * worker, the converter and the dreamer do not care which one they drive.
 *
 * Everything here runs inside the worker thread: onnxruntime's run() blocks its thread.
 */
import type * as ort from 'onnxruntime-node';

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
 * several graphs call it once per graph.
 */
export type SessionFactory = (model: string | Uint8Array) => Promise<ort.InferenceSession>;

export interface ImagePipeline {
  /** One line for logs and /healthz, e.g. `stylegan (mapping + synthesis)`. */
  readonly description: string;
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
