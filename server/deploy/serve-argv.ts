import { fileURLToPath } from 'node:url';
import { accessSync, constants } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { resolveServeOptions, invalidOption, type ResolvedServeOptions, type ServeOptions } from '../options.js';
import { SERVE_FLAGS, flagOf } from '../cli/serve-flags.js';

/** The `tpdne` command of this installation (bin/tpdne.js), absolute. */
export const TPDNE_BIN = fileURLToPath(new URL('../../../bin/tpdne.js', import.meta.url));

/** A path as the user typed it, made absolute against `cwd`; any characters but control ones. */
export function filePathOption(key: string, value: unknown, cwd: string): string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length === 0 || /[\u0000-\u001f\u007f]/.test(value)) invalidOption(key, 'a file path', value);
  return isAbsolute(value) ? resolve(value) : resolve(cwd, value);
}

export interface ServeCommand {
  /** Arguments after the node binary: `<bin> serve --flag value …`. */
  readonly argv: readonly string[];
  /** The options the service will run with, defaults filled in. */
  readonly options: ResolvedServeOptions;
}

/**
 * The `tpdne serve` command line a service manager runs: only the options the user gave
 * (so later defaults still apply), validated now, so a bad value fails here and not in
 * a restart loop, and with `--model` and `--out` made absolute against `cwd`. With
 * `checkFiles` (the default) the model must exist and be readable on this machine.
 */
export function serveCommand(serve: ServeOptions, bin: string, cwd: string, checkFiles = true): ServeCommand {
  const given: Record<string, unknown> = { ...serve };
  if (typeof given.model === 'string' && given.model !== 'builtin') {
    given.model = filePathOption('model', given.model, cwd);
    if (checkFiles && !readable(given.model as string)) invalidOption('model', 'an existing, readable model file or folder', given.model);
  }
  if (given.out !== undefined) given.out = filePathOption('out', given.out, cwd);
  if (given.prompts !== undefined) given.prompts = filePathOption('prompts', given.prompts, cwd);
  const options = resolveServeOptions({ ...(given as ServeOptions), log: () => {} });
  const argv = [bin, 'serve'];
  for (const f of SERVE_FLAGS) {
    const value = given[f.key];
    // A repeatable flag (--prompt) is written once per value.
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) argv.push(`--${flagOf(f.key)}`, String(one));
  }
  return Object.freeze({ argv: Object.freeze(argv), options });
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
