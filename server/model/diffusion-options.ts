/**
 * The options of text-to-image models (`--prompt`, `--prompts`, `--steps`), resolved with
 * the rest in server/options.ts. They need `--model` to be a diffusion folder, and a
 * diffusion folder needs at least one prompt: both are checked here, at start-up.
 */
import { readFileSync } from 'node:fs';
import { TpdneError, ErrorCodes } from '../errors.js';
import { integerOption, invalidOption, stringOption } from '../options.js';
import { isDiffusionFolder } from './diffusion-folder.js';

/** Most prompts one server keeps embeddings of (each is 77 × 1024 floats for sd-turbo: 315 KB). */
export const MAX_PROMPTS = 1000;
/** Most denoising steps: sd-turbo is trained for 1 to 4. */
export const MAX_STEPS = 4;

export interface DiffusionOptions {
  /** `--prompt`, repeatable: one string or several. */
  prompt?: string | readonly string[];
  /** `--prompts <file>`: one prompt per line; blank lines are skipped. */
  prompts?: string;
  /** `--steps`: Euler steps per image. Default `1`. */
  steps?: number | string;
}

export interface ResolvedDiffusionOptions {
  /** Every prompt, `--prompt`s first, then the file's lines; empty without a diffusion model. */
  readonly prompts: readonly string[];
  readonly steps: number;
}

function promptList(value: unknown): string[] {
  if (value === undefined) return [];
  const items = typeof value === 'string' ? [value] : Array.isArray(value) ? value : null;
  if (items === null || items.length === 0) invalidOption('prompt', 'a prompt (repeat --prompt for several)', value);
  return items.map((item) => {
    // Shown escaped, so the message stays one line.
    // eslint-disable-next-line no-control-regex
    if (typeof item === 'string' && /[\u0000-\u001f]/.test(item)) invalidOption('prompt', 'a prompt on one line, without control characters', JSON.stringify(item));
    const prompt = stringOption('prompt', item, null);
    if (prompt === null || prompt.trim() === '') invalidOption('prompt', 'a prompt that is not blank', item);
    return prompt;
  });
}

function promptFile(value: unknown): string[] {
  const path = stringOption('prompts', value, null);
  if (path === null) return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return invalidOption('prompts', 'a readable file of prompts, one per line', path);
  }
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (lines.length === 0) invalidOption('prompts', 'a file with at least one prompt', path);
  // eslint-disable-next-line no-control-regex
  const bad = lines.findIndex((line) => /[\u0000-\u001f]/.test(line));
  if (bad !== -1) invalidOption('prompts', `prompts without control characters (line ${bad + 1})`, path);
  return lines;
}

/** Validates the text-to-image options against `model` (the resolved `--model`, null = builtin). */
export function resolveDiffusionOptions(model: string | null, options: DiffusionOptions): ResolvedDiffusionOptions {
  const prompts = [...promptList(options.prompt), ...promptFile(options.prompts)];
  if (prompts.length > MAX_PROMPTS) {
    invalidOption(options.prompts === undefined ? 'prompt' : 'prompts', `at most ${MAX_PROMPTS} prompts`, `${prompts.length} prompts`);
  }
  const steps = integerOption('steps', options.steps, 1, 1, MAX_STEPS);
  const diffusion = model !== null && isDiffusionFolder(model);
  if (!diffusion) {
    const given = options.prompt !== undefined ? '--prompt' : options.prompts !== undefined ? '--prompts' : options.steps !== undefined ? '--steps' : null;
    if (given !== null) {
      throw new TpdneError(
        ErrorCodes.INVALID_OPTION,
        `Expected a diffusion model folder (with model_index.json) for --model with ${given} but received ${model === null ? "'builtin'" : `'${model}'`}`,
      );
    }
  } else if (prompts.length === 0) {
    throw new TpdneError(
      ErrorCodes.INVALID_OPTION,
      `Expected at least one prompt (--prompt "…" or --prompts <file>) for the diffusion model '${model}' but received none`,
    );
  }
  return Object.freeze({ prompts: Object.freeze(prompts), steps });
}
