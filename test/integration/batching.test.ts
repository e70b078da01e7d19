import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { startTestServer, startTestServers, waitForFrame, type TestServer } from '../helpers/server.js';
import { tempDir, writeLinearModel } from '../helpers/models.js';
import { writeTwoGraphManifest } from '../helpers/manifests.js';
import { slotStart } from '../../server/clock/slot.js';
import type { ServeOptions } from '../../server/options.js';
import type { Frame } from '../../server/frames/frame.js';

const INTERVAL = 100;

/** Every frame the server publishes from now on, with the wall-clock time it was published. */
function record(server: TestServer): { frames: { frame: Frame; at: number }[]; stop: () => void } {
  const frames: { frame: Frame; at: number }[] = [];
  const stop = server.store.subscribe((frame) => frames.push({ frame, at: Date.now() }));
  return { frames, stop };
}

async function rgb(frame: Frame): Promise<Buffer> {
  return sharp(frame.bytes).removeAlpha().raw().toBuffer();
}

/** Runs a batched and an unbatched server on the same model and seed and compares them. */
async function checkBatched(model: string, extra: ServeOptions = {}): Promise<void> {
  const common: ServeOptions = { model, size: 32, interval: INTERVAL, seed: 11, ...extra };
  const [batched, single] = await startTestServers({ ...common, batch: 4 }, { ...common, batch: 1 });
  try {
    assert.ok(batched.logs.includes('tpdne: 4 slots per model run (--batch 4)'), batched.logs.join('\n'));
    assert.ok(!single.logs.some((l) => /slots? per model run/.test(l)), single.logs.join('\n'));
    assert.deepEqual([batched.health().batch, single.health().batch], [4, 1], '/healthz says how many slots a run makes');
    const first = await waitForFrame(batched);
    const seen = record(batched);
    await waitForFrame(batched, first.slot + 13);
    await waitForFrame(single, first.slot + 13);
    seen.stop();
    const slots = seen.frames.map((f) => f.frame.slot);
    assert.ok(slots.length >= 12, `published ${slots.join(',')}`);
    for (let i = 1; i < slots.length; i++) assert.equal(slots[i], slots[i - 1]! + 1, `one frame per slot: ${slots.join(',')}`);
    for (const { frame, at } of seen.frames) {
      const start = slotStart(frame.slot, INTERVAL);
      assert.ok(at >= start, `slot ${frame.slot} published ${start - at} ms early`);
      assert.ok(at < start + INTERVAL / 2, `slot ${frame.slot} published ${at - start} ms after its start`);
    }
    const frames = batched.health().frames as { late: number; dropped: number };
    assert.equal(frames.late, 0, 'no frame was ready after its slot began');
    assert.equal(frames.dropped, 0);
    // Right frames: each batched slot's image is the unbatched server's image for that slot
    // (batched matrix products may round differently: at most one level per channel).
    for (const { frame } of seen.frames) {
      const other = single.store.get(frame.slot);
      if (!other) continue;
      const [a, b] = await Promise.all([rgb(frame), rgb(other)]);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      assert.ok(worst <= 1, `slot ${frame.slot}: batched and unbatched differ by ${worst}`);
    }
    assert.ok(seen.frames.filter(({ frame }) => single.store.get(frame.slot)).length >= 10, 'compared at least 10 slots');
  } finally {
    await Promise.all([batched.close(), single.close()]);
  }
}

describe('batching: several upcoming slots per model run', () => {
  it('a one-graph model with a dynamic batch: right frames, each published when its slot begins', async () => {
    const model = writeLinearModel(tempDir(), 'batchable', { inputDims: ['batch', 8], outputDims: [1, 3, 16, 16], batchable: true });
    await checkBatched(model);
  });

  it('a two-graph manifest with dynamic batches, with --walk slerp', async () => {
    const dir = tempDir();
    writeTwoGraphManifest(dir);
    await checkBatched(dir, { walk: 'slerp', keyframes: 3 });
  });

  it('a fixed-batch model runs one slot per run even with --batch 4, and says so', async () => {
    const dir = tempDir();
    writeTwoGraphManifest(dir, { fixedBatch: true });
    const server = await startTestServer({ model: dir, size: 32, interval: INTERVAL, batch: 4 });
    try {
      assert.ok(server.logs.includes('tpdne: 1 slot per model run (--batch 4, but the model takes at most 1 slot per run)'), server.logs.join('\n'));
      const first = await waitForFrame(server);
      await waitForFrame(server, first.slot + 2);
    } finally {
      await server.close();
    }
  });

  it('a model that declares a dynamic batch but cannot run one falls back to one slot per run, with one line', async () => {
    // Its input says [batch, 8], but a Reshape inside fixes the batch at 1.
    const model = writeLinearModel(tempDir(), 'pretends', { inputDims: ['batch', 8], outputDims: [1, 3, 16, 16] });
    const server = await startTestServer({ model, size: 32, interval: INTERVAL, batch: 4 });
    try {
      const lines = server.logs.filter((l) => /per model run/.test(l));
      assert.equal(lines.length, 1, server.logs.join('\n'));
      assert.match(lines[0]!, /^tpdne: 1 slot per model run \(--batch 4, but a batch of 4 does not run: .*Reshape.*\)$/);
      const first = await waitForFrame(server);
      await waitForFrame(server, first.slot + 2);
    } finally {
      await server.close();
    }
  });

  it('--batch auto keeps one slot per run for a model far inside the interval', async () => {
    const dir = tempDir();
    writeTwoGraphManifest(dir);
    const server = await startTestServer({ model: dir, size: 32, interval: INTERVAL });
    try {
      assert.ok(!server.logs.some((l) => /per model run/.test(l)), server.logs.join('\n'));
      await waitForFrame(server);
    } finally {
      await server.close();
    }
  });
});
