/**
 * The latent options (`--latent`, `--truncation`, `--keyframes`) refuse a model they
 * would do nothing for, at start and in one line, instead of being silently ignored:
 *
 * - `--truncation` needs a manifest with `latent.truncation` (a StyleGAN's w average);
 * - `--latent` must be what the model draws from: `normal` for a diffusion folder (its
 *   noise is normal by definition), the distribution a manifest names, if it names one;
 * - `--keyframes` needs `--walk slerp`.
 *
 * Synchronous and light (no onnxruntime): it runs while the options resolve. A manifest
 * that cannot be read or parsed is left to the model loader, which names what is wrong.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TpdneError, ErrorCodes } from '../errors.js';
import { isDiffusionFolder } from './diffusion-folder.js';

/** The manifest a folder model is described by. */
export const MANIFEST_NAME = 'tpdne.json';

export interface LatentOptions {
  latent?: unknown;
  truncation?: unknown;
  keyframes?: unknown;
}

/**
 * The manifest file `model` names (a folder holding tpdne.json, or a `.json` file), null
 * for another model, undefined when there is nothing there (the loader says so).
 */
function manifestPath(model: string): string | null | undefined {
  let folder: boolean;
  try {
    folder = statSync(model).isDirectory();
  } catch {
    return undefined;
  }
  if (folder) return join(model, MANIFEST_NAME);
  return model.toLowerCase().endsWith('.json') ? model : null;
}

/** The manifest's `latent` object, or undefined when it cannot be read as JSON. */
function manifestLatent(path: string): { distribution?: unknown; truncation?: unknown } | undefined {
  try {
    const root = JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, '')) as { latent?: unknown };
    return typeof root.latent === 'object' && root.latent !== null ? root.latent : {};
  } catch {
    return undefined;
  }
}

function refuse(message: string): never {
  throw new TpdneError(ErrorCodes.INVALID_OPTION, message);
}

/**
 * @param model the resolved `--model` (null: the built-in CPPN)
 * @param options the latent options as given (undefined: not given)
 * @param walk the resolved `--walk`
 * @param walkGiven whether `--walk` was given (the message says when it is the default)
 */
export function checkLatentOptions(model: string | null, options: LatentOptions, walk: string, walkGiven: boolean): void {
  const shown = model === null ? "'builtin'" : `'${model}'`;
  if (options.keyframes !== undefined && walk !== 'slerp') {
    refuse(`Expected --walk slerp with --keyframes but received --walk ${walk}${walkGiven ? '' : ' (the default)'}`);
  }
  const diffusion = model !== null && isDiffusionFolder(model);
  const manifest = model === null || diffusion ? null : manifestPath(model);
  // A model that is not there is the loader's to report, as it is without these options.
  if (manifest === undefined) return;
  const latent = manifest === null ? null : manifestLatent(manifest);
  if (options.truncation !== undefined && latent !== undefined && !latent?.truncation) {
    const which = manifest === null ? shown : `'${manifest}', which has none`;
    refuse(`Expected a model manifest with latent.truncation for --model with --truncation but received ${which}`);
  }
  if (options.latent === undefined) return;
  if (diffusion && options.latent !== 'normal') {
    refuse(`Expected 'normal' (a diffusion model starts from normal noise) for --latent with the diffusion folder ${shown} but received '${String(options.latent)}'`);
  }
  const declared = latent?.distribution;
  if (typeof declared === 'string' && declared !== options.latent) {
    refuse(`Expected '${declared}' (the latent.distribution of ${manifest}) for --latent but received '${String(options.latent)}'`);
  }
}
