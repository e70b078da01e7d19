import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, waitForFrame, type TestServer } from '../helpers/server.js';
import { skipUnlessProgram } from '../helpers/system.js';
import { launchChromium } from '../helpers/browser.js';
import { canvasHash, drawnAtLeast, streamInfo } from '../helpers/page.js';

describe('the pages in chromium on the uws transport', { skip: skipUnlessProgram('chromium', 'chromium') }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    server = await startTestServer({ transport: 'uws', size: 128 });
    await waitForFrame(server);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('/live streams frames a browser draws, with no CSP violation', async () => {
    const page = await browser.newPage({ viewport: { width: 480, height: 360 } });
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/.test(message.text())) violations.push(message.text());
    });
    await page.goto(server.url + '/live');
    await page.waitForFunction(drawnAtLeast, ['tpdne-stream', 3] as [string, number], { timeout: 15_000 });
    const { stats, state } = await page.evaluate(streamInfo, 'tpdne-stream');
    assert.equal(state, 'open');
    assert.ok(stats.slot !== null && server.store.get(stats.slot) !== undefined, `slot ${String(stats.slot)} is one the server made`);
    assert.ok((await page.evaluate(canvasHash, 'tpdne-stream')).nonBlank > 0, 'pixels drawn');
    assert.equal(server.health().viewers, 1);
    assert.deepEqual(violations, []);
    await page.close();
  });

  it('/ shows the current image through its slot URL', async () => {
    const page = await browser.newPage({ viewport: { width: 640, height: 480 } });
    await page.goto(server.url + '/');
    await page.waitForFunction(() => {
      const el = (globalThis as unknown as { document: { querySelector(s: string): { complete: boolean; naturalWidth: number } | null } }).document.querySelector('main img');
      return el !== null && el.complete && el.naturalWidth === 128;
    });
    const src = (await page.locator('main img').getAttribute('src')) ?? '';
    assert.match(src, /^\/frames\/\d+\.webp$/);
    await page.close();
  });
});
