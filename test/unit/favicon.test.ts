import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { createFavicons, FAVICON_SIZE } from '../../server/http/favicon.js';
import { createFrame, type Frame } from '../../server/frames/frame.js';

/** A lossless WebP frame of 4x4 distinct colours, each blown up to an 8x8 block (32x32). */
async function checkerFrame(slot: number): Promise<{ frame: Frame; pixels: Buffer }> {
  const pixels = Buffer.alloc(4 * 4 * 3);
  for (let i = 0; i < 16; i++) pixels.set([i * 16, 255 - i * 16, (i * 97) % 256], i * 3);
  const bytes = await sharp(pixels, { raw: { width: 4, height: 4, channels: 3 } })
    .resize(32, 32, { kernel: 'nearest' })
    .webp({ lossless: true })
    .toBuffer();
  return { frame: createFrame({ slot, createdAt: 1_700_000_000_000 + slot, width: 32, height: 32, format: 'webp', bytes }), pixels };
}

describe('favicons', () => {
  it('are made once per frame: every caller gets the same promise', async () => {
    const favicons = createFavicons({ pixelated: () => false });
    const { frame } = await checkerFrame(7);
    const first = favicons.png(frame);
    assert.equal(favicons.png(frame), first);
    const png = await first;
    assert.equal(favicons.png(frame), first, 'still the same after it resolved');
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', FAVICON_SIZE, FAVICON_SIZE]);
  });

  it('keep only the newest frame: an older one is made again, never cached over a newer one', async () => {
    const favicons = createFavicons({ pixelated: () => false });
    const a = (await checkerFrame(1)).frame;
    const b = (await checkerFrame(2)).frame;
    const pb = favicons.png(b);
    const pa = favicons.png(a);
    assert.notEqual(pa, pb);
    assert.equal(favicons.png(b), pb);
  });

  it('give back the sprite of pixel art exactly (nearest-neighbour)', async () => {
    const favicons = createFavicons({ pixelated: () => true, size: 4 });
    const { frame, pixels } = await checkerFrame(3);
    const { data, info } = await sharp(await favicons.png(frame)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [4, 4, 3]);
    assert.deepEqual([...data], [...pixels]);
  });

  it('have an ETag derived from the frame, known before the PNG is made', async () => {
    const { frame } = await checkerFrame(9);
    assert.equal(createFavicons({ pixelated: () => false }).etag(frame), `"${frame.etag.slice(1, -1)}-32.png"`);
  });

  it('fail with ERR_ENCODE for bytes that are not an image, and try again next time', async () => {
    const favicons = createFavicons({ pixelated: () => false });
    const broken = createFrame({ slot: 5, createdAt: 0, width: 1, height: 1, format: 'webp', bytes: Buffer.from('not an image') });
    const first = favicons.png(broken);
    await assert.rejects(first, { code: 'ERR_ENCODE', message: /^Making the favicon of slot 5 failed: / });
    assert.notEqual(favicons.png(broken), first);
    await favicons.png(broken).catch(() => {});
  });
});
