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
  /** Slots per model run: a number (clamped to what the pipeline takes), or `auto` to measure. */
  batch: number | 'auto';
  /** Milliseconds per slot, for the `auto` batch rule. */
  interval: number;
}

export interface ModelInfo {
  input: string;
  latentDims: number[];
  output: string;
  outputDims: number[];
  /** The pipeline's one-line description, e.g. `stylegan (mapping + synthesis)`. */
  description: string;
  device: 'cpu' | 'cuda' | 'webgpu';
  /** Most slots one run takes (1 without a dynamic batch dimension). */
  maxBatch: number;
  /** Slots per run the worker settled on (`--batch`, or measured). */
  batch: number;
  /** How `batch` was chosen, for the log: e.g. `measured: 2.1 ms/slot at 4 vs 3.9 at 1`. */
  batchReason: string;
  /** Set when `auto` wanted a GPU and fell back to CPU: why. */
  fallback: string | null;
}

export type ToWorker =
  /** The images of these consecutive slots, in one run (at most `batch` slots). */
  | { type: 'generate'; id: number; slots: number[] }
  /** Finish the run in flight, release the session, and let the thread end by itself. */
  | { type: 'close' };

/** One slot's image, or why that slot has none (a NaN frame fails alone, not its batch). */
export type WorkerImage =
  | { ok: true; data: Uint8Array; width: number; height: number; range: '-1,1' | '0,1' | '0,255'; timings: StageTimings }
  | { ok: false; code: ErrorCode; message: string };

export type FromWorker =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'images'; id: number; images: WorkerImage[] }
  | { type: 'error'; id: number | null; code: ErrorCode; message: string };
