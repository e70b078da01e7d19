// The diffusion pipeline itself, on real onnxruntime and the tiny Optimum-layout fixture
// (tools/fixtures/tiny_diffusion.py). Run on the test's thread; the server runs it in
// the worker (diffusion-server.test.ts).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { createDiffusionPipeline, type DiffusionPipeline } from '../../server/model/diffusion.js';
import { ErrorCodes, isTpdneError } from '../../server/errors.js';
import { skipUnlessTorch, testContext, writeTinyDiffusion } from '../helpers/diffusion.js';
import { tempDir } from '../helpers/models.js';
import { buildOnnxModel } from '../../server/model/onnx-builder.js';

const skip = skipUnlessTorch();
const CAT = 'a photo of a cat';
const DOG = 'a portrait of a dog';

async function withPipeline<T>(dir: string, options: Parameters<typeof testContext>[0], use: (p: DiffusionPipeline) => Promise<T>): Promise<T> {
  const pipeline = await createDiffusionPipeline(dir, testContext(options));
  try {
    return await use(pipeline);
  } finally {
    await pipeline.release();
    await pipeline.release(); // idempotent
  }
}

const pixels = (t: ort.Tensor): Float32Array => t.data as Float32Array;
/** Finite and in [-1, 1] (onnxruntime's tanh may overshoot by one float32 ulp). */
const inRange = (t: ort.Tensor): boolean => pixels(t).every((v) => Number.isFinite(v) && Math.abs(v) <= 1 + 1e-6);
const same = (a: ort.Tensor, b: ort.Tensor): boolean => Buffer.from(pixels(a).buffer).equals(Buffer.from(pixels(b).buffer));

describe('diffusion pipeline (tiny Optimum-layout fixture)', { skip }, () => {
  let dir = '';
  before(() => {
    dir = writeTinyDiffusion();
  });

  it('makes a [1, 3, 64, 64] image in [-1, 1] from a [1, 4, 8, 8] latent, a pure function of (seed, slot)', async () => {
    const [a, b, other] = await Promise.all([
      withPipeline(dir, { seed: 5, prompts: [CAT] }, async (p) => {
        assert.deepEqual(p.info.latentDims, [1, 4, 8, 8]);
        assert.deepEqual(p.image, { range: '-1,1', layout: 'nchw' });
        assert.match(p.description, /diffusion: text encoder \+ unet \+ vae decoder; euler, 1 step, 1 prompt\)$/);
        return [(await p.run([40])).tensor, (await p.run([41])).tensor];
      }),
      withPipeline(dir, { seed: 5, prompts: [CAT] }, async (p) => (await p.run([40])).tensor),
      withPipeline(dir, { seed: 6, prompts: [CAT] }, async (p) => (await p.run([40])).tensor),
    ]);
    const [s40, s41] = a;
    assert.deepEqual(s40!.dims, [1, 3, 64, 64]);
    assert.equal(s40!.type, 'float32');
    const values = pixels(s40!);
    assert.ok(inRange(s40!));
    // Not a constant or saturated image: the decoder sees a real latent.
    assert.ok(Math.max(...values) - Math.min(...values) > 0.2);
    assert.ok(values.filter((v) => Math.abs(v) > 0.99).length < values.length / 2, 'mostly unsaturated');
    assert.ok(same(s40!, b), 'same seed and slot: the same image, bit for bit');
    assert.ok(!same(s40!, s41!), 'another slot: another image');
    assert.ok(!same(s40!, other), 'another seed: another image');
  });

  it("matches diffusers' text-to-image loop run in torch on the same networks (1 and 2 steps)", async () => {
    // tools/fixtures/tiny_diffusion.py wrote a latent and the images torch makes from it
    // (diffusers' Euler loop, guidance 0, the torch modules the ONNX graphs came from).
    const read = (name: string) => {
      const bytes = readFileSync(join(dir, 'reference', name));
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    };
    const latent = read('latent.f32');
    for (const steps of [1, 2]) {
      const expected = read(`image-${steps}.f32`);
      const actual = await withPipeline(dir, { prompts: [CAT], steps, latent }, async (p) => pixels((await p.run([0])).tensor));
      assert.equal(actual.length, expected.length);
      let worst = 0;
      for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
      // float32 through two runtimes: equal to rounding (about 1e-6 here). Another prompt
      // moves the image by about 2e-2, another step count by 0.6.
      assert.ok(worst < 1e-5, `${steps} steps: differs from the torch reference by ${worst}`);
    }
  });

  it('rotates the prompts by slot: slot s uses prompt s mod count', async () => {
    const slots = [100, 101, 102, 103];
    const [rotating, indices, cats, dogs] = await Promise.all([
      withPipeline(dir, { prompts: [CAT, DOG] }, async (p) => Promise.all(slots.map(async (s) => (await p.run([s])).tensor))),
      withPipeline(dir, { prompts: [CAT, DOG] }, async (p) => [...slots, -1, 7_185_306_401].map((s) => p.promptIndex(s))),
      withPipeline(dir, { prompts: [CAT] }, async (p) => Promise.all(slots.map(async (s) => (await p.run([s])).tensor))),
      withPipeline(dir, { prompts: [DOG] }, async (p) => Promise.all(slots.map(async (s) => (await p.run([s])).tensor))),
    ]);
    assert.deepEqual(indices, [0, 1, 0, 1, 1, 1]);
    slots.forEach((slot, i) => {
      const expected = slot % 2 === 0 ? cats[i]! : dogs[i]!;
      const otherPrompt = slot % 2 === 0 ? dogs[i]! : cats[i]!;
      // Same latent, same prompt: the same image as the one-prompt pipeline's.
      assert.ok(same(rotating[i]!, expected), `slot ${slot} uses prompt ${slot % 2}`);
      // The prompt matters: the other prompt's image for the same latent differs.
      assert.ok(!same(rotating[i]!, otherPrompt), `slot ${slot}: the two prompts give different images`);
    });
  });

  it('runs 1 and 2 Euler steps (different images, both valid)', async () => {
    const [one, two] = await Promise.all(
      [1, 2].map((steps) =>
        withPipeline(dir, { prompts: [CAT], steps }, async (p) => {
          assert.match(p.description, new RegExp(`euler, ${steps} steps?,`));
          return (await p.run([9])).tensor;
        }),
      ),
    );
    for (const t of [one!, two!]) {
      assert.deepEqual(t.dims, [1, 3, 64, 64]);
      assert.ok(inRange(t));
    }
    assert.ok(!same(one!, two!));
  });

  it('stacks slots into one batch with the same images as one at a time', async () => {
    await withPipeline(dir, { prompts: [CAT, DOG] }, async (p) => {
      assert.equal(p.maxBatch, 4);
      const batch = (await p.run([20, 21, 22])).tensor;
      assert.deepEqual(batch.dims, [3, 3, 64, 64]);
      const size = 3 * 64 * 64;
      for (const [i, slot] of [20, 21, 22].entries()) {
        const single = pixels((await p.run([slot])).tensor);
        const part = pixels(batch).subarray(i * size, (i + 1) * size);
        let worst = 0;
        for (let j = 0; j < size; j++) worst = Math.max(worst, Math.abs(part[j]! - single[j]!));
        // Batched kernels may sum in another order: equal to float32 rounding.
        assert.ok(worst < 1e-4, `slot ${slot}: batched vs single differ by ${worst}`);
      }
      await assert.rejects(p.run([1, 2, 3, 4, 5]), (err: unknown) => isTpdneError(err, ErrorCodes.MODEL_RUN));
    });
  });

  it('feeds a float32 timestep to a UNet that declares one', async () => {
    const floatDir = writeTinyDiffusion({ timestepDtype: 'float32' });
    const [asFloat, asInt] = await Promise.all([
      withPipeline(floatDir, { prompts: [CAT], steps: 2 }, async (p) => (await p.run([3])).tensor),
      withPipeline(dir, { prompts: [CAT], steps: 2 }, async (p) => (await p.run([3])).tensor),
    ]);
    // Same seeds in the script, same weights; only the timestep's dtype differs, and
    // trailing timesteps (999, 499) are whole numbers: the same image.
    assert.ok(same(asFloat, asInt));
  });

  it('opens the graphs by path (so external weight files load), text encoder first', async () => {
    const context = testContext({ prompts: [CAT] });
    const p = await createDiffusionPipeline(dir, context);
    await p.release();
    assert.deepEqual(context.opened, ['text_encoder', 'unet', 'vae_decoder'].map((g) => join(dir, g, 'model.onnx')));
  });

  it('refuses a UNet that wants more than sample, timestep and encoder_hidden_states (LCM, SDXL)', async () => {
    const copy = join(tempDir('tpdne-diffusion-unet-'), 'model');
    cpSync(dir, copy, { recursive: true });
    const dims = (...d: (number | string)[]) => d;
    writeFileSync(
      join(copy, 'unet', 'model.onnx'),
      buildOnnxModel({
        name: 'lcm-like-unet',
        nodes: [{ op: 'Identity', inputs: ['sample'], outputs: ['out_sample'] }],
        initializers: [],
        inputs: [
          { name: 'sample', dims: dims('batch', 4, 8, 8) },
          { name: 'timestep', dims: dims('batch') },
          { name: 'encoder_hidden_states', dims: dims('batch', 77, 32) },
          { name: 'timestep_cond', dims: dims('batch', 256) },
        ],
        outputs: [{ name: 'out_sample', dims: dims('batch', 4, 8, 8) }],
      }),
    );
    await assert.rejects(
      createDiffusionPipeline(copy, testContext({ prompts: [CAT] })),
      (err: unknown) =>
        isTpdneError(err, ErrorCodes.MODEL_INPUT_SHAPE) &&
        err.message === 'Expected unet inputs sample, timestep and encoder_hidden_states only (an SD 1.x/2.x UNet, as sd-turbo\'s) but it also has timestep_cond',
    );
  });

  it('fails at start, in one line with a code, on bad folders and prompts', async () => {
    const broken = (remove: string[], edit?: (root: string) => void): string => {
      const copy = join(tempDir('tpdne-diffusion-bad-'), 'model');
      cpSync(dir, copy, { recursive: true });
      for (const path of remove) rmSync(join(copy, path), { recursive: true });
      edit?.(copy);
      return copy;
    };
    const long = Array.from({ length: 80 }, () => 'cat').join(' ');
    const table: [string, string, string[], RegExp][] = [
      [dir, 'prompt too long', [long], /^Expected a prompt of at most 77 tokens .* but received 'cat cat cat.*…', 82 tokens$/],
      [dir, 'no prompt', [], /^Expected at least one --prompt or --prompts <file>/],
      [broken(['unet']), 'no unet', [CAT], /is missing unet\/model\.onnx \(export one with: optimum-cli export onnx/],
      [broken(['tokenizer/tokenizer.json', 'tokenizer/merges.txt']), 'no tokenizer', [CAT], /is missing tokenizer\/tokenizer\.json \(or tokenizer\/vocab\.json and tokenizer\/merges\.txt\)/],
      [broken(['unet', 'vae_decoder/model.onnx']), 'two missing', [CAT], /is missing unet\/model\.onnx, vae_decoder\/model\.onnx /],
      [
        broken([], (root) => {
          const path = join(root, 'scheduler', 'scheduler_config.json');
          writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), _class_name: 'LCMScheduler' }));
        }),
        'other scheduler',
        [CAT],
        /_class_name EulerDiscreteScheduler/,
      ],
      [
        broken([], (root) => writeFileSync(join(root, 'model_index.json'), JSON.stringify({ text_encoder_2: ['transformers', 'CLIPTextModelWithProjection'] }))),
        'sdxl',
        [CAT],
        /lists text_encoder_2 \(SDXL\)/,
      ],
    ];
    const codes: Record<string, string> = {
      'prompt too long': ErrorCodes.INVALID_OPTION,
      'no prompt': ErrorCodes.INVALID_OPTION,
      'no unet': ErrorCodes.MODEL_NOT_FOUND,
      'no tokenizer': ErrorCodes.MODEL_NOT_FOUND,
      'two missing': ErrorCodes.MODEL_NOT_FOUND,
      'other scheduler': ErrorCodes.MODEL_LOAD,
      sdxl: ErrorCodes.MODEL_LOAD,
    };
    for (const [root, what, prompts, message] of table) {
      const context = testContext({ prompts });
      await assert.rejects(
        createDiffusionPipeline(root, context),
        (err: unknown) => isTpdneError(err, codes[what] as never) && message.test(err.message) && !err.message.includes('\n'),
        what,
      );
      // Every failure here comes before any graph is opened.
      assert.deepEqual(context.opened, [], `${what}: nothing opened`);
    }
  });
});
