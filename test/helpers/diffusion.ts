import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ROOT } from './paths.js';
import { tempDir } from './models.js';
import { latentFor } from '../../server/latent/latent.js';
import type { PipelineContext } from '../../server/model/pipeline.js';

/** Debian's Python, which has python3-torch and python3-onnx (another python3 may be first on PATH). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const SCRIPT = join(ROOT, 'tools', 'fixtures', 'tiny_diffusion.py');

let checked: string | false | null = null;

/**
 * For suites that build the tiny diffusion fixture: false when /usr/bin/python3 can import
 * torch and onnx, else a skip reason naming the apt command (printed once). Under CI
 * (CI=true) it throws instead: nothing is skipped there.
 */
export function skipUnlessTorch(): string | false {
  if (checked === null) {
    const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import torch, onnx'], { stdio: 'ignore' });
    checked = probe.status === 0 ? false : `${SYSTEM_PYTHON} cannot import torch and onnx: install them with 'apt-get install -y python3-torch python3-onnx'`;
    if (checked !== false && process.env.CI !== 'true') process.stdout.write(`# SKIP ${checked}\n`);
  }
  if (checked !== false && process.env.CI === 'true') throw new Error(`CI: ${checked}`);
  return checked;
}

export interface TinyDiffusionOptions {
  timestepDtype?: 'int64' | 'float32';
  /** Leave tokenizer.json out: only vocab.json and merges.txt, as a slow tokenizer saves. */
  noTokenizerJson?: boolean;
}

/**
 * Writes the tiny Optimum-layout diffusion pipeline (tools/fixtures/tiny_diffusion.py) to a
 * fresh temp folder and returns it: 64 x 64 images from [1, 4, 8, 8] latents, CLIP-format
 * tokenizer, sd-turbo's scheduler config, and expected_tokens.json (the reference BPE).
 */
export function writeTinyDiffusion(options: TinyDiffusionOptions = {}): string {
  const dir = join(tempDir('tpdne-diffusion-'), 'tiny-sd');
  const args = [SCRIPT, dir, '--timestep-dtype', options.timestepDtype ?? 'int64'];
  if (options.noTokenizerJson) args.push('--no-tokenizer-json');
  execFileSync(SYSTEM_PYTHON, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return dir;
}

/**
 * A pipeline context on the test's own thread (tests may block it; the product runs
 * pipelines in the worker): CPU sessions, latents from (seed, slot).
 */
export function testContext(options: {
  seed?: number;
  prompts: readonly string[];
  steps?: number;
  /** Every slot's latent instead of (seed, slot)'s: to compare with a reference run. */
  latent?: Float32Array;
}): PipelineContext & { opened: string[] } {
  const opened: string[] = [];
  return {
    opened,
    open: (model) => {
      opened.push(typeof model === 'string' ? model : `<${model.length} bytes>`);
      return typeof model === 'string'
        ? ort.InferenceSession.create(model, { executionProviders: ['cpu'] })
        : ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
    },
    latent: (slot, length, distribution) => options.latent?.slice() ?? latentFor(options.seed ?? 1, slot, length, distribution ?? 'normal'),
    truncation: 0.7,
    prompts: options.prompts,
    steps: options.steps ?? 1,
  };
}
