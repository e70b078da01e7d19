/** Messages between the main thread and the model worker (structured clone). */
import type { Device, LatentDistribution, ValueRange, Walk } from '../options.js';
import type { ErrorCode } from '../errors.js';
import type { StageTimings } from './generator.js';

/** The built-in CPPN, or a path: a `.onnx` file, a `.json` manifest or a model folder. */
export type ModelSource = { kind: 'builtin'; size: number } | { kind: 'file'; path: string };

export interface WorkerConfig {
  source: ModelSource;
  device: Device;
  seed: number;
  latent: LatentDistribution;
  range: ValueRange;
  /** StyleGAN truncation ψ for pipelines that have a w (`--truncation`). */
  truncation: number;
  /** How slot latents follow each other (`--walk`) and the keyframe spacing (`--keyframes`). */
  walk: Walk;
  keyframes: number;
  /** Prompts of a diffusion folder (`--prompt`, `--prompts`); empty otherwise. */
  prompts: readonly string[];
  /** Denoising steps of a diffusion folder (`--steps`). */
  steps: number;
}

export interface ModelInfo {
  input: string;
  latentDims: number[];
  output: string;
  outputDims: number[];
  /** The pipeline's one-line description, e.g. `stylegan (mapping + synthesis)`. */
  description: string;
  device: 'cpu' | 'cuda' | 'webgpu';
  /** Set when `auto` wanted a GPU and fell back to CPU: why. */
  fallback: string | null;
}

export type ToWorker =
  | { type: 'generate'; id: number; slot: number }
  /** Finish the run in flight, release the session, and let the thread end by itself. */
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; info: ModelInfo }
  | {
      type: 'image';
      id: number;
      data: Uint8Array;
      width: number;
      height: number;
      range: '-1,1' | '0,1' | '0,255';
      timings: StageTimings;
    }
  | { type: 'error'; id: number | null; code: ErrorCode; message: string };
