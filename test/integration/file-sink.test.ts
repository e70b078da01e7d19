import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic, createFileSink } from '../../server/sinks/file-sink.js';
import { createFrameStore } from '../../server/frames/store.js';
import { createFrame } from '../../server/frames/frame.js';
import { sampleImageAndSaveRepeatedly } from '../../server/sample.js';
import { tempDir } from '../helpers/models.js';

async function webp(shade: number, size = 48): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: { r: shade, g: 255 - shade, b: 128 } } })
    .webp({ quality: 90 })
    .toBuffer();
}

describe('--out file sink', () => {
  it('a reader hammering the file during 2,000 writes always decodes a whole image', async () => {
    const dir = tempDir();
    const target = join(dir, 'sampled.webp');
    // Images of different sizes, so a torn read would show as a bad length.
    const images = await Promise.all([0, 60, 120, 180, 240].map((s, i) => webp(s, 32 + i * 24)));
    await writeFileAtomic(target, images[0]!);
    let writing = true;
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        const bytes = await readFile(target);
        const meta = await sharp(bytes).metadata();
        assert.equal(meta.format, 'webp');
        assert.ok(images.some((img) => img.equals(bytes)), `read ${bytes.length} bytes that match no written image`);
        reads++;
      }
    })();
    for (let i = 0; i < 2000; i++) await writeFileAtomic(target, images[i % images.length]!);
    writing = false;
    await reader;
    assert.ok(reads > 50, `only ${reads} reads happened`);
    assert.deepEqual(readdirSync(dir), ['sampled.webp'], 'no temporary files left behind');
  });

  it('writes <path>.webp for each frame and creates the folder', async () => {
    const dir = tempDir();
    const store = createFrameStore(4);
    const sink = createFileSink({ path: join(dir, 'out', 'sampled'), store, log: () => {} });
    const bytes = await webp(10);
    store.publish(createFrame({ slot: 1, createdAt: 0, width: 48, height: 48, format: 'webp', bytes }));
    await sink.close();
    assert.ok((await readFile(join(dir, 'out', 'sampled.webp'))).equals(bytes));
    assert.equal(sink.stats().written, 1);
  });

  it('an unwritable folder gives one clear log line and the frames keep coming', async () => {
    const dir = tempDir();
    // Root ignores permission bits, so the target's folder is a file: that fails for everyone.
    const blocked = join(dir, 'file-not-folder');
    await writeFile(blocked, 'x');
    const store = createFrameStore(4);
    const log: string[] = [];
    const sink = createFileSink({ path: join(blocked, 'sampled'), store, log: (l) => log.push(l) });
    let delivered = 0;
    store.subscribe(() => delivered++);
    for (let slot = 1; slot <= 5; slot++) {
      store.publish(createFrame({ slot, createdAt: 0, width: 48, height: 48, format: 'webp', bytes: await webp(slot) }));
      await new Promise((r) => setTimeout(r, 15));
    }
    await sink.close();
    assert.equal(delivered, 5, 'the stream is unaffected');
    assert.ok(sink.stats().failed >= 1);
    assert.equal(sink.stats().written, 0);
    assert.equal(log.length, 1, log.join('\n'));
    assert.match(log[0]!, /^tpdne: cannot write --out file .*sampled\.webp: .*; the stream goes on$/);
  });
});

describe('sampleImageAndSaveRepeatedly (the original helper)', () => {
  it('calls generate once per interval and keeps out/sampled.webp a whole, current image', async () => {
    const dir = tempDir();
    const calls: number[] = [];
    const sampler = sampleImageAndSaveRepeatedly(
      (slot) => {
        calls.push(slot);
        const data = new Float32Array(3 * 16 * 16);
        for (let i = 0; i < data.length; i++) data[i] = Math.sin(i + slot);
        return { data, dims: [1, 3, 16, 16] };
      },
      join(dir, 'out', 'sampled'),
      { interval: 50, size: 64, log: () => {} },
    );
    await new Promise((r) => setTimeout(r, 600));
    await sampler.close();
    assert.ok(calls.length >= 6 && calls.length <= 14, `${calls.length} calls in 600 ms at 50 ms`);
    const bytes = await readFile(join(dir, 'out', 'sampled.webp'));
    const meta = await sharp(bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 64, 64]);
    assert.ok(sampler.store.current()!.bytes.equals(bytes), 'the file holds the latest frame');
    assert.equal(sampler.stats().out.written >= 1, true);
    await sampler.close();
  });

  it('rejects bad arguments with the option message shape', () => {
    assert.throws(() => sampleImageAndSaveRepeatedly(() => ({ data: [], dims: [] }), '', {}), {
      code: 'ERR_INVALID_OPTION',
      message: "Expected a non-empty string for --out but received ''",
    });
    assert.throws(() => sampleImageAndSaveRepeatedly(() => ({ data: [], dims: [] }), 'x', { interval: 1 }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => sampleImageAndSaveRepeatedly('nope' as never, 'x'), { code: 'ERR_INVALID_OPTION' });
  });
});
