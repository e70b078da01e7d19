import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDreamer } from '../../server/clock/dreamer.js';
import { createFrameStore } from '../../server/frames/store.js';
import { createEncoder } from '../../server/encode/encoder.js';
import { createFunctionGenerator, type GenerateFunction } from '../../server/model/function-generator.js';
import { slotStart } from '../../server/clock/slot.js';
import { ErrorCodes, TpdneError } from '../../server/errors.js';
import type { Frame } from '../../server/frames/frame.js';
import type { Generator } from '../../server/model/generator.js';

const encoder = createEncoder({ size: null, format: 'webp', quality: 50, effort: 0, resize: 'auto' });

/** A 4x4 grey image whose shade is the slot's last digit. */
const shade: GenerateFunction = (slot) => ({ data: new Float32Array(16).fill((slot % 10) / 10), dims: [4, 4] });

function run(generate: GenerateFunction, interval: number, frames: number, timeoutMs = 10_000) {
  const store = createFrameStore(100);
  const log: string[] = [];
  const dreamer = createDreamer({ generator: createFunctionGenerator(generate), encoder, store, interval, log: (l) => log.push(l) });
  const published: { frame: Frame; at: number }[] = [];
  store.subscribe((frame) => published.push({ frame, at: Date.now() }));
  dreamer.start();
  return new Promise<{ published: typeof published; dreamer: typeof dreamer; log: string[] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${published.length} frames`)), timeoutMs);
    const poll = setInterval(() => {
      if (published.length < frames) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ published, dreamer, log });
    }, 5);
  });
}

describe('dreamer', () => {
  it('publishes each slot at its start, in order, one per slot', async () => {
    const { published, dreamer } = await run(shade, 60, 8);
    await dreamer.close();
    for (const { frame, at } of published) {
      const start = slotStart(frame.slot, 60);
      assert.ok(at >= start && at < start + 60, `slot ${frame.slot} published ${at - start} ms after its start`);
    }
    const slots = published.map((p) => p.frame.slot);
    for (let i = 1; i < slots.length; i++) assert.equal(slots[i], slots[i - 1]! + 1);
    const stats = dreamer.stats();
    assert.equal(stats.status, 'ok');
    assert.equal(stats.missed, 0);
    assert.equal(stats.late, 0);
  });

  it('with a batching generator, makes 4 slots per run and publishes each exactly at its own start', async () => {
    const runs: number[][] = [];
    const single = createFunctionGenerator(shade);
    const batching: Generator = {
      name: 'batching',
      device: 'js',
      nativeSize: null,
      batch: 4,
      generate: (slot) => single.generate(slot),
      async generateBatch(slots) {
        runs.push([...slots]);
        await new Promise((r) => setTimeout(r, 40));
        return Promise.all(slots.map((slot) => (slot % 7 === 3 ? new TpdneError(ErrorCodes.TENSOR_NONFINITE, 'NaN') : single.generate(slot))));
      },
      close: () => single.close(),
    };
    const store = createFrameStore(100);
    const dreamer = createDreamer({ generator: batching, encoder, store, interval: 60, log: () => {} });
    const published: { slot: number; at: number }[] = [];
    store.subscribe((frame) => published.push({ slot: frame.slot, at: Date.now() }));
    dreamer.start();
    while (published.length < 12) await new Promise((r) => setTimeout(r, 5));
    await dreamer.close();
    assert.ok(runs.length >= 4 && runs.every((r) => r.length === 4 && r.every((s, i) => s === r[0]! + i)), JSON.stringify(runs));
    for (let i = 1; i < runs.length; i++) assert.equal(runs[i]![0], runs[i - 1]![3]! + 1, `runs follow each other: ${JSON.stringify(runs)}`);
    for (const { slot, at } of published) {
      const start = slotStart(slot, 60);
      assert.ok(at >= start && at < start + 60, `slot ${slot} published ${at - start} ms after its start`);
    }
    // The NaN slot of a batch is dropped alone; the rest of its batch is published.
    const made = runs.flat().filter((s) => s <= published.at(-1)!.slot && s >= published[0]!.slot);
    assert.deepEqual(published.map((p) => p.slot), made.filter((s) => s % 7 !== 3));
    // Only the first run can be late: the dreamer learns how long a batch takes from it.
    assert.ok(dreamer.stats().late <= 4, `late: ${dreamer.stats().late}`);
  });

  it('never overlaps generations', async () => {
    let active = 0;
    let most = 0;
    const slow: GenerateFunction = async (slot) => {
      active++;
      most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, 35));
      active--;
      return shade(slot);
    };
    const { dreamer } = await run(slow, 25, 6);
    await dreamer.close();
    assert.equal(most, 1);
  });

  it('starts the next generation while a frame is encoded and held, so one run longer than the interval is not late', async () => {
    // 100 ms slots; one run of 150 ms (longer than a slot, shorter than two) among 5 ms ones.
    let calls = 0;
    const spiky: GenerateFunction = async (slot) => {
      calls++;
      await new Promise((r) => setTimeout(r, calls === 6 ? 150 : 5));
      return shade(slot);
    };
    const { published, dreamer } = await run(spiky, 100, 10);
    await dreamer.close();
    const slots = published.map((p) => p.frame.slot);
    for (let i = 1; i < slots.length; i++) assert.equal(slots[i], slots[i - 1]! + 1, `slots ${slots.join(',')}`);
    assert.equal(dreamer.stats().late, 0);
    assert.equal(dreamer.stats().missed, 0);
  });

  it('keeps up with a model slower than the interval by skipping slots, and counts them', async () => {
    const slow: GenerateFunction = async (slot) => {
      await new Promise((r) => setTimeout(r, 130));
      return shade(slot);
    };
    const { published, dreamer } = await run(slow, 50, 6);
    await dreamer.close();
    const slots = published.map((p) => p.frame.slot);
    const gaps = slots.slice(1).map((s, i) => s - slots[i]!);
    assert.ok(gaps.every((g) => g >= 2), `a 130 ms model at 50 ms slots skips slots: ${gaps.join(',')}`);
    const stats = dreamer.stats();
    assert.equal(stats.missed, gaps.reduce((a, g) => a + g - 1, 0));
    assert.ok(stats.fps > 4 && stats.fps < 9, `achieved ${stats.fps} fps`);
  });

  it('drops and counts a NaN frame, reports degraded, and recovers by itself', async () => {
    let calls = 0;
    const flaky: GenerateFunction = (slot) => {
      calls++;
      if (calls === 3 || calls === 4) return { data: new Float32Array(16).fill(NaN), dims: [4, 4] };
      return shade(slot);
    };
    const store = createFrameStore(100);
    const log: string[] = [];
    const dreamer = createDreamer({ generator: createFunctionGenerator(flaky), encoder, store, interval: 40, log: (l) => log.push(l) });
    const statuses: string[] = [];
    store.subscribe(() => statuses.push(dreamer.stats().status));
    dreamer.start();
    while (calls < 7) await new Promise((r) => setTimeout(r, 20));
    await dreamer.close();
    const stats = dreamer.stats();
    assert.equal(stats.dropped, 2);
    assert.equal(stats.nonFinite, 2);
    assert.equal(stats.status, 'ok');
    assert.equal(log.filter((l) => l.includes('frame dropped')).length, 1, 'one log line for the same failure twice');
    assert.ok(log.includes('tpdne: recovered'));
  });

  it('drops and counts an encoder failure, and the next slot proceeds', async () => {
    let fail = true;
    const failing = {
      format: 'webp' as const,
      async encode(image: Parameters<typeof encoder.encode>[0]) {
        if (fail) {
          fail = false;
          throw new TpdneError(ErrorCodes.ENCODE, 'Encoding webp failed: disk on fire');
        }
        return encoder.encode(image);
      },
    };
    const store = createFrameStore(10);
    const dreamer = createDreamer({ generator: createFunctionGenerator(shade), encoder: failing, store, interval: 30, log: () => {} });
    dreamer.start();
    while (store.size < 2) await new Promise((r) => setTimeout(r, 10));
    await dreamer.close();
    assert.equal(dreamer.stats().encodeErrors, 1);
    assert.equal(dreamer.stats().dropped, 1);
  });

  it('close() waits for the frame in flight and is idempotent', async () => {
    let finished = 0;
    const slow: GenerateFunction = async (slot) => {
      await new Promise((r) => setTimeout(r, 80));
      finished++;
      return shade(slot);
    };
    const store = createFrameStore(10);
    const dreamer = createDreamer({ generator: createFunctionGenerator(slow), encoder, store, interval: 40, log: () => {} });
    dreamer.start();
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all([dreamer.close(), dreamer.close()]);
    assert.equal(finished, 1, 'the generation in flight finished before close resolved');
    const after = finished;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(finished, after, 'nothing runs after close');
  });
});
