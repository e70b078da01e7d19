/**
 * A text-to-image diffusion model in the folder layout Hugging Face Optimum exports
 * (`optimum-cli export onnx --model stabilityai/sd-turbo <folder>`):
 *
 *     model_index.json                 marks the folder
 *     text_encoder/model.onnx          CLIP text encoder (+ config.json)
 *     unet/model.onnx                  (+ model.onnx_data for large weights, + config.json)
 *     vae_decoder/model.onnx           (+ config.json with scaling_factor)
 *     tokenizer/                       tokenizer.json, or vocab.json + merges.txt; tokenizer_config.json
 *     scheduler/scheduler_config.json
 *
 * Reading it checks every file up front and names all that are missing in one line.
 * Nothing here loads onnxruntime: the options resolve step uses {@link isDiffusionFolder}.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TpdneError, ErrorCodes } from '../errors.js';

/** What marks a folder in the Optimum (diffusers ONNX) layout. */
export const DIFFUSION_INDEX = 'model_index.json';

type Json = Record<string, unknown>;

export interface DiffusionFolder {
  readonly root: string;
  /** Paths of the three graphs (paths, not bytes: onnxruntime finds external weight files beside them). */
  readonly textEncoder: string;
  readonly unet: string;
  readonly vaeDecoder: string;
  readonly tokenizerDir: string;
  /** The parsed scheduler/scheduler_config.json. */
  readonly schedulerConfig: unknown;
  /** Each graph's config.json, `{}` when absent. */
  readonly textEncoderConfig: Json;
  readonly unetConfig: Json;
  readonly vaeConfig: Json;
}

/** True when `path` is a folder holding model_index.json (synchronous, for option checks). */
export function isDiffusionFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory() && existsSync(join(path, DIFFUSION_INDEX));
  } catch {
    return false;
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function readJson(path: string, required: boolean): Promise<Json> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    if (!required) return {};
    throw new TpdneError(ErrorCodes.MODEL_NOT_FOUND, `Diffusion model file not found or unreadable: ${path}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  } catch {
    // reported below
  }
  throw new TpdneError(ErrorCodes.MODEL_LOAD, `Expected a JSON object in ${path} but it does not parse as one`);
}

/** Checks the layout and reads the configs; graphs are opened later, by the pipeline. */
export async function readDiffusionFolder(root: string): Promise<DiffusionFolder> {
  const index = await readJson(join(root, DIFFUSION_INDEX), true);
  if ('text_encoder_2' in index || 'transformer' in index) {
    throw new TpdneError(
      ErrorCodes.MODEL_LOAD,
      `Expected a single-text-encoder UNet pipeline (Stable Diffusion 1.x/2.x, sd-turbo) in ${root} but its ${DIFFUSION_INDEX} lists ${'text_encoder_2' in index ? 'text_encoder_2 (SDXL)' : 'a transformer'}`,
    );
  }
  const at = (...parts: string[]) => join(root, ...parts);
  const missing: string[] = [];
  for (const file of ['text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx', 'scheduler/scheduler_config.json']) {
    if (!(await isFile(at(file)))) missing.push(file);
  }
  const hasJson = await isFile(at('tokenizer', 'tokenizer.json'));
  const hasBpe = (await isFile(at('tokenizer', 'vocab.json'))) && (await isFile(at('tokenizer', 'merges.txt')));
  if (!hasJson && !hasBpe) missing.push('tokenizer/tokenizer.json (or tokenizer/vocab.json and tokenizer/merges.txt)');
  if (missing.length > 0) {
    throw new TpdneError(
      ErrorCodes.MODEL_NOT_FOUND,
      `Diffusion model folder ${root} is missing ${missing.join(', ')} (export one with: optimum-cli export onnx --model stabilityai/sd-turbo <folder>)`,
    );
  }
  return {
    root,
    textEncoder: at('text_encoder', 'model.onnx'),
    unet: at('unet', 'model.onnx'),
    vaeDecoder: at('vae_decoder', 'model.onnx'),
    tokenizerDir: at('tokenizer'),
    schedulerConfig: await readJson(at('scheduler', 'scheduler_config.json'), true),
    textEncoderConfig: await readJson(at('text_encoder', 'config.json'), false),
    unetConfig: await readJson(at('unet', 'config.json'), false),
    vaeConfig: await readJson(at('vae_decoder', 'config.json'), false),
  };
}
