import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.js';
import { FPS_WINDOW_MS } from '../../server/clock/dreamer.js';
import type { TensorLike } from '../../server/image/tensor.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A model that takes `ms` per image. */
function modelTaking(ms: number) {
  return async function slowModel(slot: number): Promise<TensorLike> {
    await sleep(ms);
    return { data: new Float32Array(3 * 16 * 16).map((_, i) => Math.sin(i * 0.1 + slot)), dims: [1, 3, 16, 16] };
  };
}

describe('a model slower than --interval', () => {
  it('is reported degraded once a whole fps window shows it, while a model that keeps up stays ok', { timeout: FPS_WINDOW_MS + 20_000 }, async () => {
    // 50 ms slots with a 120 ms model: at most ~8 of the 20 fps asked for.
    const slow = await startTestServer({ interval: 50, size: 32, generate: modelTaking(120) });
    const fast = await startTestServer({ interval: 250, size: 32, generate: modelTaking(5) });
    try {
      await sleep(1_000);
      assert.equal(slow.health().status, 'ok', 'not judged before a whole window has passed');
      await sleep(FPS_WINDOW_MS + 500);
      const report = slow.health() as { status: string; reason: string; fps: number };
      assert.equal(report.status, 'degraded');
      assert.ok(report.fps > 0 && report.fps < 16, `fps ${report.fps}`);
      assert.match(report.reason, /^making [\d.]+ fps of the 20 --interval 50 asks for: a frame takes longer than a slot \(see timings\)$/);
      const json = (await (await fetch(slow.url + '/healthz')).json()) as { status: string };
      assert.equal(json.status, 'degraded', '/healthz says so too');
      assert.equal(fast.health().status, 'ok');
      assert.equal(fast.health().reason, null);
    } finally {
      await Promise.all([slow.close(), fast.close()]);
    }
  });
});
