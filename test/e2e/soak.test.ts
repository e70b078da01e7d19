import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, CDPSession } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { skipUnlessProgram } from '../helpers/system.js';
import { launchChromium, sleep } from '../helpers/browser.js';
import { countImageResources, drawnAtLeast, imageResources, setAttribute, streamInfo } from '../helpers/page.js';

const INTERVAL = 250;
// The issue asks for a minute of streaming; this is the suite's only long test.
const SOAK_MS = 60_000;
const MB = 1024 * 1024;

/** JS heap in use after a full garbage collection. */
async function heapAfterGc(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  return usedSize;
}

describe('60 s of streaming in chromium', { skip: skipUnlessProgram('chromium', 'chromium') }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    server = await startTestServer({ interval: INTERVAL, size: 128 });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('/live grows the JS heap by under 10 MB and keeps no more live ImageBitmaps or object URLs', { timeout: SOAK_MS + 60_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 480, height: 360 } });
    await page.addInitScript(countImageResources);
    await page.goto(server.url + '/live');
    await page.waitForFunction(drawnAtLeast, ['tpdne-stream', 8] as [string, number], { timeout: 15_000 });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.enable');

    const startHeap = await heapAfterGc(cdp);
    const startStats = (await page.evaluate(streamInfo, 'tpdne-stream')).stats;
    const live = (r: { bitmapsMade: number; bitmapsClosed: number; urlsMade: number; urlsRevoked: number }) => ({
      bitmaps: r.bitmapsMade - r.bitmapsClosed,
      urls: r.urlsMade - r.urlsRevoked,
    });
    const startLive = live(await page.evaluate(imageResources));

    // Sample every 5 s: the most bitmaps alive at once must stay at the element's bound.
    let mostBitmaps = startLive.bitmaps;
    let mostUrls = startLive.urls;
    const end = Date.now() + SOAK_MS;
    while (Date.now() < end) {
      await sleep(Math.min(5000, end - Date.now()));
      const now = live(await page.evaluate(imageResources));
      const { stats } = await page.evaluate(streamInfo, 'tpdne-stream');
      mostBitmaps = Math.max(mostBitmaps, now.bitmaps, stats.liveBitmaps);
      mostUrls = Math.max(mostUrls, now.urls, stats.liveObjectUrls);
    }

    // Pause (closes the socket) so nothing is mid-decode while counting.
    await page.evaluate(setAttribute, ['tpdne-stream', 'paused', ''] as [string, string, string | null]);
    await sleep(500);
    const endHeap = await heapAfterGc(cdp);
    const endStats = (await page.evaluate(streamInfo, 'tpdne-stream')).stats;
    const endLive = live(await page.evaluate(imageResources));
    const made = (await page.evaluate(imageResources)).bitmapsMade;
    const drawn = endStats.drawn - startStats.drawn;
    const growth = endHeap - startHeap;
    process.stdout.write(
      `# soak: ${drawn} frames drawn in ${SOAK_MS / 1000} s; heap ${(startHeap / MB).toFixed(2)} -> ${(endHeap / MB).toFixed(2)} MB ` +
        `(growth ${(growth / MB).toFixed(2)} MB); bitmaps made ${made}, alive at start ${startLive.bitmaps}, end ${endLive.bitmaps}, most ${mostBitmaps}; ` +
        `object URLs alive at end ${endLive.urls}, most ${mostUrls}\n`,
    );
    await page.close();

    // It really streamed: at least half the frames of the minute were drawn.
    assert.ok(drawn >= (SOAK_MS / INTERVAL) * 0.5, `drew ${drawn} frames`);
    assert.ok(growth < 10 * MB, `heap grew ${(growth / MB).toFixed(2)} MB`);
    assert.equal(endLive.bitmaps, 1, 'only the frame on screen is alive');
    assert.equal(endStats.liveBitmaps, 1, "the element's own count agrees");
    assert.ok(mostBitmaps <= 2, `at most 2 bitmaps alive at once (shown + decoding), saw ${mostBitmaps}`);
    assert.equal(endLive.urls, 0);
    assert.equal(mostUrls, 0);
    assert.equal(endStats.liveObjectUrls, 0);
  });
});
