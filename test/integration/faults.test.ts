import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, waitForFrame, type TestServer } from '../helpers/server.js';
import { tempDir, writeSlowModel } from '../helpers/models.js';
import type { TensorLike } from '../../server/image/tensor.js';

type Mode = 'ok' | 'throw' | 'hang' | 'nan' | 'shape';

async function health(server: TestServer): Promise<{ status: string; reason: string | null; slot: number; frames: Record<string, number> }> {
  return (await (await fetch(server.url + '/healthz')).json()) as never;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('model faults: the server keeps serving the last good frame and recovers by itself', () => {
  let mode: Mode = 'ok';
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      interval: 100,
      size: 32,
      modelTimeout: 250,
      generate: function flakyModel(slot): TensorLike | Promise<TensorLike> {
        switch (mode) {
          case 'throw':
            throw new Error('CUDA error: an illegal memory access was encountered');
          case 'hang':
            return new Promise(() => {});
          case 'nan':
            return { data: new Float32Array(3 * 16 * 16).fill(NaN), dims: [1, 3, 16, 16] };
          case 'shape':
            return { data: new Float32Array(7), dims: [1, 7] };
          default:
            return { data: new Float32Array(3 * 16 * 16).map((_, i) => Math.sin(i * 0.1 + slot)), dims: [1, 3, 16, 16] };
        }
      },
    });
    await waitForFrame(server);
  });
  after(() => server.close());

  const faults: [Exclude<Mode, 'ok'>, RegExp, string][] = [
    ['throw', /generate\(\) threw for slot \d+: CUDA error: an illegal memory access/, 'dropped'],
    ['hang', /generate\(\) for slot \d+ exceeded 250 ms/, 'dropped'],
    ['nan', /Tensor holds NaN at index 0; frame dropped/, 'nonFinite'],
    ['shape', /Cannot read tensor of shape \[1, 7\] as an image/, 'dropped'],
  ];
  for (const [fault, reason, counter] of faults) {
    it(`a model that ${fault === 'shape' ? 'changes its output shape' : fault + 's'}: degraded with the reason, then ok`, async () => {
      await waitForFrame(server, (server.store.current()?.slot ?? 0) + 1);
      const before = await health(server);
      mode = fault;
      await sleep(fault === 'hang' ? 900 : 500);
      const last = server.store.current()!;
      const during = await health(server);
      assert.equal(during.status, 'degraded');
      assert.match(during.reason!, reason);
      assert.ok(during.frames[counter]! > before.frames[counter]!, `${counter} counted`);
      // The last good frame is still served, unchanged.
      const res = await fetch(server.url + '/image.webp');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('etag'), last.etag);
      const page = await fetch(server.url + '/');
      assert.equal(page.status, 200);
      mode = 'ok';
      const fresh = await waitForFrame(server, last.slot + 1, 5000);
      assert.ok(fresh.slot > last.slot);
      assert.equal((await health(server)).status, 'ok');
    });
  }
});

describe('a model run that hangs in onnxruntime', () => {
  it('is abandoned after --model-timeout, reported, and the worker is replaced', async () => {
    const model = writeSlowModel(tempDir(), 40);
    const server = await startTestServer({ model, size: 32, modelTimeout: 200, interval: 100 });
    try {
      const deadline = Date.now() + 15_000;
      while (!server.logs.some((l) => l === 'tpdne: model worker replaced') && Date.now() < deadline) await sleep(50);
      const h = await health(server);
      assert.equal(h.status, 'degraded');
      assert.match(h.reason!, /Model run for slot \d+ exceeded 200 ms; worker replaced/);
      assert.ok(server.logs.includes('tpdne: model worker replaced'), server.logs.join('\n'));
      assert.ok(h.frames.dropped! >= 1);
    } finally {
      await server.close();
    }
  });
});
