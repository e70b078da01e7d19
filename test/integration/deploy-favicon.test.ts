import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { startTestServer, waitForFrame } from '../helpers/server.js';
import { tempDir } from '../helpers/models.js';

describe('--out for static hosting', () => {
  it('keeps favicon.png beside the image, both whole, and leaves no temporary files', async () => {
    const dir = tempDir('tpdne-out-');
    const server = await startTestServer({ out: join(dir, 'site', 'sampled'), interval: 100, size: 64 });
    try {
      const first = await waitForFrame(server);
      await waitForFrame(server, first.slot + 3);
      await server.close();
      assert.deepEqual(readdirSync(join(dir, 'site')).sort(), ['favicon.png', 'sampled.webp']);
      const image = readFileSync(join(dir, 'site', 'sampled.webp'));
      // The last write may have been of any recent frame (a newer one waits while the disk is busy).
      const current = server.store.current()!.slot;
      const written = Array.from({ length: 5 }, (_, i) => server.store.get(current - i)).find((f) => f?.bytes.equals(image));
      assert.ok(written, 'the image is one of the last frames, whole');
      const favicon = readFileSync(join(dir, 'site', 'favicon.png'));
      const expected = await sharp(written.bytes).resize(32, 32, { fit: 'cover' }).png({ compressionLevel: 9 }).toBuffer();
      assert.ok(favicon.equals(expected), "the favicon is that frame's");
      const health = server.health() as unknown as { out: { written: number; failed: number } };
      assert.equal(health.out.failed, 0);
      assert.ok(health.out.written >= 3);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
