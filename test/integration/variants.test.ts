import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { startTestServer, connectViewer, waitForFrame } from '../helpers/server.js';
import { tempDir, writeLinearModel } from '../helpers/models.js';

describe('model and output variants', () => {
  it('runs a model with a dynamic batch dimension and an NHWC [0,1] output', async () => {
    const dir = tempDir();
    const model = writeLinearModel(dir, 'dynamic', { inputDims: ['batch', 8], outputDims: [1, 24, 24, 3], activation: 'Sigmoid' });
    const server = await startTestServer({ model, size: 48 });
    try {
      const frame = await waitForFrame(server);
      assert.deepEqual([frame.width, frame.height], [48, 48]);
      const health = server.health();
      assert.equal(health.model, 'dynamic.onnx');
    } finally {
      await server.close();
    }
  });

  it('serves JPEG at /image.jpg and in the stream when --format jpeg', async () => {
    const server = await startTestServer({ format: 'jpeg', size: 64 });
    try {
      await waitForFrame(server);
      const res = await fetch(server.url + '/image.jpg');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.equal((await fetch(server.url + '/image.webp')).status, 404);
      const html = await (await fetch(server.url + '/')).text();
      assert.match(html, /<img src="\/frames\/\d+\.jpg"/);
      const viewer = await connectViewer(server.url);
      const [first] = await viewer.until(1);
      assert.equal(first!.format, 'jpeg');
      await viewer.close();
    } finally {
      await server.close();
    }
  });

  it('--out keeps <out>.webp equal to the current frame', async () => {
    const dir = tempDir();
    const server = await startTestServer({ out: join(dir, 'out', 'sampled'), size: 64 });
    try {
      const frame = await waitForFrame(server);
      await waitForFrame(server, frame.slot + 2);
      // The sink writes just after publishing; give it a moment.
      await new Promise((r) => setTimeout(r, 100));
      const bytes = await readFile(join(dir, 'out', 'sampled.webp'));
      const kept = [...Array(6).keys()].map((i) => server.store.get(frame.slot + i)).filter(Boolean);
      assert.ok(kept.some((f) => f!.bytes.equals(bytes)), 'the file is one of the recent frames');
      assert.equal((await sharp(bytes).metadata()).width, 64);
    } finally {
      await server.close();
    }
  });

  it('evicts old frames from /frames/ after --frames-kept', async () => {
    const server = await startTestServer({ framesKept: 2, size: 32, interval: 50 });
    try {
      const first = await waitForFrame(server);
      await waitForFrame(server, first.slot + 4);
      assert.equal((await fetch(`${server.url}/frames/${first.slot}.webp`)).status, 404);
      const current = server.store.current()!;
      assert.equal((await fetch(`${server.url}/frames/${current.slot}.webp`)).status, 200);
    } finally {
      await server.close();
    }
  });
});
