import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, waitForFrame, type TestServer } from '../helpers/server.js';
import { skipUnlessProgram } from '../helpers/system.js';
import { launchChromium, sha1, sleep } from '../helpers/browser.js';

// A long slot, so two loads fit inside one with room to spare.
const INTERVAL = 2000;

/** Loads `/` and returns the image's URL and a hash of its pixels as drawn on the page. */
async function load(page: Page, url: string): Promise<{ src: string; pixels: string }> {
  await page.goto(url + '/');
  const img = page.locator('main img');
  await img.waitFor();
  // The page has no script (CSP script-src 'none'); the test reads the element instead.
  await page.waitForFunction(() => {
    const el = (globalThis as unknown as { document: { querySelector(s: string): { complete: boolean; naturalWidth: number } | null } }).document.querySelector('main img');
    return el !== null && el.complete && el.naturalWidth > 0;
  });
  const src = (await img.getAttribute('src')) ?? '';
  return { src, pixels: sha1(await img.screenshot()) };
}

describe('/ (classic page) in chromium', { skip: skipUnlessProgram('chromium', 'chromium') }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    server = await startTestServer({ interval: INTERVAL, size: 128 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 640, height: 480 } });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows the same image for two loads within one slot', async () => {
    // Start right after a slot begins: the next boundary is a whole interval away.
    const first = await waitForFrame(server, 0);
    const fresh = await waitForFrame(server, first.slot + 1, INTERVAL * 3);
    const a = await load(page, server.url);
    const b = await load(page, server.url);
    assert.equal(server.store.current()!.slot, fresh.slot, 'both loads happened within one slot');
    assert.equal(a.src, `/frames/${fresh.slot}.webp`);
    assert.equal(b.src, a.src);
    assert.equal(b.pixels, a.pixels);
  });

  it('shows different images for two loads more than one interval apart', async () => {
    const loadedAt = Date.now();
    const a = await load(page, server.url);
    const slotA = Number(/\/frames\/(\d+)\.webp/.exec(a.src)?.[1]);
    await sleep(INTERVAL + 100 - (Date.now() - loadedAt));
    await waitForFrame(server, slotA + 1, INTERVAL * 3);
    const b = await load(page, server.url);
    assert.notEqual(b.src, a.src);
    assert.ok(Number(/\/frames\/(\d+)\.webp/.exec(b.src)?.[1]) > slotA);
    assert.notEqual(b.pixels, a.pixels);
  });

  it('shows the image large and centred with a caption', async () => {
    await load(page, server.url);
    const img = await page.locator('main img').boundingBox();
    const caption = await page.locator('main p').textContent();
    assert.ok(img);
    // min(88vmin, 1024px) of a 640x480 viewport
    assert.ok(Math.abs(img.width - 0.88 * 480) <= 2, `image ${img.width} px wide`);
    assert.ok(Math.abs(img.x + img.width / 2 - 320) <= 1, 'centred');
    assert.match(caption ?? '', /Nobody drew this/);
    assert.match(caption ?? '', /Refresh for a new dream/);
  });
});
