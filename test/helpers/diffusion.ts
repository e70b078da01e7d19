import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ROOT } from './paths.js';
import { PYTHON, skipUnlessTorch } from './python.js';
import { tempDir } from './models.js';
import { latentFor } from '../../server/latent/latent.js';
import type { PipelineContext } from '../../server/model/pipeline.js';

const SCRIPT = join(ROOT, 'tools', 'fixtures', 'tiny_diffusion.py');

/** Suites that build the tiny diffusion fixture skip (visibly; fail under CI=true) without torch and onnx. */
export { skipUnlessTorch };

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
  execFileSync(PYTHON, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
