import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { skipUnlessTorch, exportTinyStyleGan } from '../helpers/python.js';
import { startTestServer, startTestServers, waitForFrame, type TestServer } from '../helpers/server.js';
import { readNpy } from '../../server/model/npy.js';
import type { ServeOptions } from '../../server/options.js';
import type { Frame } from '../../server/frames/frame.js';

const skip = skipUnlessTorch();
// This process opens sessions itself too: keep ORT's process-wide logger as quiet as the
// worker's, or each worker's CUDA probe prints a multi-line error.
ort.env.logLevel = 'fatal';

async function consecutiveFrames(server: TestServer, count: number): Promise<Frame[]> {
  const frames = [await waitForFrame(server)];
  while (frames.length < count) frames.push(await waitForFrame(server, frames.at(-1)!.slot + 1));
  return frames;
}

async function withServer<T>(options: ServeOptions, body: (server: TestServer) => Promise<T>): Promise<T> {
  const server = await startTestServer({ size: 64, interval: 100, ...options });
  try {
    return await body(server);
  } finally {
    await server.close();
  }
}

/** Mean absolute difference per RGB byte between two encoded frames. */
async function distance(a: Frame, b: Frame): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((f) => sharp(f.bytes).removeAlpha().raw().toBuffer()));
  let sum = 0;
  for (let i = 0; i < x!.length; i++) sum += Math.abs(x![i]! - y![i]!);
  return sum / x!.length;
}

describe('StyleGAN: a tiny network of our own, exported by tools/export/stylegan.py', { skip }, () => {
  let model: string;
  before(async () => {
    model = await exportTinyStyleGan();
  });

  it('exports mapping + synthesis that match PyTorch, with constant noise and no truncation in the graph', async () => {
    const manifest = JSON.parse(readFileSync(join(model, 'tpdne.json'), 'utf8'));
    assert.deepEqual(manifest.latent.shape, [1, 32]);
    assert.deepEqual(manifest.latent.truncation, { tensor: 'mapping.ws', average: 'w_avg.npy' });
    assert.deepEqual(readNpy(readFileSync(join(model, 'w_avg.npy'))).shape, [32]);
    const z = readNpy(readFileSync(join(model, 'check', 'z.npy')));
    const expected = readNpy(readFileSync(join(model, 'check', 'img.npy')));
    const mapping = await ort.InferenceSession.create(join(model, 'mapping.onnx'));
    const synthesis = await ort.InferenceSession.create(join(model, 'synthesis.onnx'));
    try {
      const { ws } = await mapping.run({ z: new ort.Tensor('float32', z.data as Float32Array, [...z.shape]) });
      assert.deepEqual(ws!.dims, [1, 8, 32]);
      const { img } = await synthesis.run({ ws: ws! });
      assert.deepEqual(img!.dims, [1, 3, 32, 32]);
      const got = img!.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - (expected.data as Float32Array)[i]!));
      assert.ok(worst < 1e-4, `largest difference from PyTorch ${worst}`);
    } finally {
      await Promise.all([mapping.release(), synthesis.release()]);
    }
    // noise_mode='const': no random op left in the graph.
    assert.ok(!readFileSync(join(model, 'synthesis.onnx')).includes('RandomNormal'));
  });

  it('streams a new image every slot from the exported folder', async () => {
    await withServer({ model }, async (server) => {
      const frames = await consecutiveFrames(server, 4);
      for (let i = 1; i < frames.length; i++) {
        assert.equal(frames[i]!.slot, frames[i - 1]!.slot + 1);
        assert.ok(!frames[i]!.bytes.equals(frames[i - 1]!.bytes));
      }
      assert.deepEqual([frames[0]!.width, frames[0]!.height], [64, 64]);
      assert.equal(server.health().status, 'ok');
    });
  });

  it('--truncation 0 gives the same image every slot (byte-identical frames)', async () => {
    await withServer({ model, truncation: 0 }, async (server) => {
      const frames = await consecutiveFrames(server, 4);
      for (const frame of frames.slice(1)) assert.ok(frame.bytes.equals(frames[0]!.bytes), `slot ${frame.slot}`);
    });
  });

  it('the same (seed, slot) gives the same bytes on two servers', async () => {
    const [a, b] = await startTestServers({ model, size: 64, interval: 100 }, { model, size: 64, interval: 100 });
    try {
      const start = Math.max((await waitForFrame(a)).slot, (await waitForFrame(b)).slot) + 1;
      await Promise.all([waitForFrame(a, start + 2), waitForFrame(b, start + 2)]);
      for (const slot of [start, start + 1, start + 2]) {
        const [p, q] = [a.store.get(slot), b.store.get(slot)];
        assert.ok(p && q, `slot ${slot} kept by both`);
        assert.ok(p.bytes.equals(q.bytes), `slot ${slot}: same bytes`);
      }
      assert.ok(!a.store.get(start)!.bytes.equals(a.store.get(start + 1)!.bytes), 'and another slot, another image');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('--walk slerp morphs: neighbours differ less than keyframes, and keyframes equal the jump frames', async () => {
    // Eight slots a keyframe: neighbours are an eighth of an arc apart. (At four, the two
    // distances sat too near the factor of 2 checked below: 25.6 against 50.6 once.)
    const keyframes = 8;
    const options: ServeOptions = { model, seed: 5, size: 64, interval: 100 };
    const [slerp, jump] = await startTestServers({ ...options, walk: 'slerp', keyframes }, { ...options, walk: 'jump' });
    try {
      await waitForFrame(jump);
      const frames = await consecutiveFrames(slerp, 2 * keyframes + 2);
      await waitForFrame(jump, frames.at(-1)!.slot);
      const neighbours: number[] = [];
      const apart: number[] = [];
      for (let i = 1; i < frames.length; i++) neighbours.push(await distance(frames[i - 1]!, frames[i]!));
      for (let i = keyframes; i < frames.length; i++) apart.push(await distance(frames[i - keyframes]!, frames[i]!));
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      process.stdout.write(`# slerp: mean pixel distance ${mean(neighbours).toFixed(2)} between neighbours, ${mean(apart).toFixed(2)} a keyframe apart\n`);
      assert.ok(mean(neighbours) < mean(apart) / 2, `neighbours ${mean(neighbours).toFixed(2)} vs a keyframe apart ${mean(apart).toFixed(2)}`);
      const keys = frames.filter((f) => f.slot % keyframes === 0);
      assert.ok(keys.length >= 2);
      for (const key of keys) {
        const other = jump.store.get(key.slot);
        assert.ok(other, `jump server kept slot ${key.slot}`);
        assert.ok(key.bytes.equals(other.bytes), `keyframe slot ${key.slot} equals the jump frame`);
      }
      // And a slot between keyframes does not.
      const between = frames.find((f) => f.slot % keyframes === 2)!;
      assert.ok(!between.bytes.equals(jump.store.get(between.slot)!.bytes));
    } finally {
      await Promise.all([slerp.close(), jump.close()]);
    }
  });
});
