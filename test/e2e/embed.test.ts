import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { skipUnlessProgram } from '../helpers/system.js';
import { embeddingPage, launchChromium, sleep, startSite, type Site } from '../helpers/browser.js';
import {
  canvasHash,
  drawnAtLeast,
  drawnPixels,
  fetchFromPage,
  recordStreamEvents,
  scrollToY,
  setAttribute,
  setPageHidden,
  streamEvents,
  streamInfo,
  type StreamEvent,
} from '../helpers/page.js';

const INTERVAL = 250;
const EL = 'tpdne-stream';

/** Polls `check` until it returns true (or fails after `timeoutMs`). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The element's status label (inside its shadow DOM): its text, and whether it shows. */
const STATUS = `(() => {
  const label = document.querySelector('tpdne-stream').shadowRoot.querySelector('[part=status]');
  return { text: label.textContent, shown: label.checkVisibility() };
})()`;

const frames = (events: StreamEvent[]) => events.filter((e) => e.type === 'tpdne-frame').map((e) => e.slot!);
const ofType = (events: StreamEvent[], type: StreamEvent['type']) => events.filter((e) => e.type === type);

function assertIncreasing(slots: number[]): void {
  for (let i = 1; i < slots.length; i++) assert.ok(slots[i]! > slots[i - 1]!, `slots increase: ${slots.join(', ')}`);
}

describe('<tpdne-stream> on a page from another origin', { skip: skipUnlessProgram('chromium', 'chromium') }, () => {
  let server: TestServer;
  let site: Site;
  let browser: Browser;
  const opened: Page[] = [];
  const pages: Record<string, (server: string) => string> = {
    '/': (s) => embeddingPage(s),
    '/wide': (s) => embeddingPage(s, { attributes: ' style="width:256px;height:128px"' }),
    '/below-fold': (s) => embeddingPage(s, { before: '<div style="height:3000px">scroll down</div>', after: '<div style="height:3000px"></div>' }),
    '/plain': () => '<!doctype html><html><head><style>body{margin:0}</style></head><body></body></html>',
    '/paused-start': (s) => embeddingPage(s, { attributes: ' paused' }),
    // Port 9 (discard) on loopback: nothing listens, every connection is refused.
    '/unreachable': (s) => embeddingPage(s).replace(`<tpdne-stream src="${s}"`, '<tpdne-stream src="http://127.0.0.1:9"'),
    '/iframe': (s) => `<!doctype html><html><body style="margin:0"><iframe src="${s}/embed?fit=cover" width="320" height="200" style="border:0"></iframe></body></html>`,
  };

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 640, height: 480 } });
    opened.push(page);
    await page.addInitScript(recordStreamEvents);
    await page.goto(site.url + path.slice(1));
    return page;
  }

  before(async () => {
    server = await startTestServer({ interval: INTERVAL, size: 128 });
    site = await startSite((url) => (pages[url.pathname] ?? pages['/']!)(server.url));
    browser = await launchChromium();
  });
  // Every test starts with no page open and no viewer on the server.
  afterEach(async () => {
    for (const page of opened.splice(0)) await page.close();
    await until('the viewers to leave', () => server.health().viewers === 0);
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await server?.close();
  });

  it('draws frames and fires tpdne-frame with increasing slots, leaking no globals or CSS', async () => {
    assert.notEqual(site.origin, new URL(server.url).origin);
    const plain = await open('/plain');
    const globalNames = () => Object.getOwnPropertyNames(globalThis).filter((n) => !n.startsWith('__tpdne'));
    const bareGlobals = await plain.evaluate(globalNames);

    const page = await open('/');
    await page.waitForFunction(drawnAtLeast, [EL, 6] as [string, number], { timeout: 15_000 });
    const events = await page.evaluate(streamEvents);
    const slots = frames(events);
    assert.ok(slots.length >= 6);
    assertIncreasing(slots);
    assert.equal(ofType(events, 'tpdne-connect').length, 1);
    assert.equal(ofType(events, 'tpdne-disconnect').length, 0);
    const { stats, state } = await page.evaluate(streamInfo, EL);
    assert.equal(state, 'open');
    assert.equal(stats.errors, 0);
    const pixels = await page.evaluate(drawnPixels, EL);
    assert.equal(pixels.drawn, pixels.total, 'the frame covers the whole square widget');
    assert.equal(server.health().viewers, 1);
    // The element lives in its shadow root: no new globals, no stylesheet in the document.
    const globals = await page.evaluate(globalNames);
    const sheets = await page.evaluate(() => (globalThis as unknown as { document: { styleSheets: { length: number } } }).document.styleSheets.length);
    assert.deepEqual(
      globals.filter((n) => !bareGlobals.includes(n)),
      [],
      'no new globals',
    );
    assert.equal(sheets, 1, "only the site's own <style>");
  });

  it('closes the socket when the page is hidden, reconnects and resumes when shown', async () => {
    const page = await open('/');
    await page.waitForFunction(drawnAtLeast, [EL, 2] as [string, number], { timeout: 15_000 });
    await until('one viewer', () => server.health().viewers === 1);

    await page.evaluate(setPageHidden, true);
    await until('the server to lose the viewer', () => server.health().viewers === 0);
    const hidden = await page.evaluate(streamInfo, EL);
    assert.equal(hidden.state, 'idle');
    const disconnects = ofType(await page.evaluate(streamEvents), 'tpdne-disconnect');
    assert.deepEqual(
      disconnects.map((e) => e.reason),
      ['hidden'],
    );
    await sleep(4 * INTERVAL);
    assert.equal((await page.evaluate(streamInfo, EL)).stats.drawn, hidden.stats.drawn, 'no frames while hidden');
    assert.equal(server.health().viewers, 0);

    await page.evaluate(setPageHidden, false);
    await page.waitForFunction(drawnAtLeast, [EL, hidden.stats.drawn + 2] as [string, number], { timeout: 10_000 });
    const events = await page.evaluate(streamEvents);
    assert.equal(ofType(events, 'tpdne-connect').length, 2);
    assertIncreasing(frames(events));
    assert.ok((await page.evaluate(streamInfo, EL)).stats.slot! > hidden.stats.slot!);
    assert.equal(server.health().viewers, 1);
  });

  it('stays closed below the fold, streams once scrolled into view, closes when scrolled away', async () => {
    const page = await open('/below-fold');
    await sleep(1000);
    const unseen = await page.evaluate(streamInfo, EL);
    assert.equal(unseen.state, 'idle');
    assert.equal(unseen.stats.connects, 0);
    assert.equal(server.health().viewers, 0);

    await page.evaluate(scrollToY, 2900);
    await page.waitForFunction(drawnAtLeast, [EL, 2] as [string, number], { timeout: 10_000 });
    assert.equal(server.health().viewers, 1);

    await page.evaluate(scrollToY, 6000);
    await until('the server to lose the viewer', () => server.health().viewers === 0);
    const events = await page.evaluate(streamEvents);
    assert.deepEqual(
      ofType(events, 'tpdne-disconnect').map((e) => e.reason),
      ['offscreen'],
    );
    await page.close();
  });

  it('paused closes the socket and keeps the last frame; unpaused it resumes', async () => {
    const page = await open('/');
    await page.waitForFunction(drawnAtLeast, [EL, 2] as [string, number], { timeout: 15_000 });
    await page.evaluate(setAttribute, [EL, 'paused', ''] as [string, string, string | null]);
    await until('the server to lose the viewer', () => server.health().viewers === 0);
    assert.equal((await page.evaluate(streamInfo, EL)).state, 'idle');
    await sleep(INTERVAL + 100); // let the last fade finish
    const still = await page.evaluate(canvasHash, EL);
    await sleep(2 * INTERVAL);
    const later = await page.evaluate(canvasHash, EL);
    assert.equal(later.hash, still.hash, 'the picture holds');
    assert.ok(later.nonBlank > 0, 'the last frame stays on screen');

    await page.evaluate(setAttribute, [EL, 'paused', null] as [string, string, string | null]);
    const before = (await page.evaluate(streamInfo, EL)).stats.drawn;
    await page.waitForFunction(drawnAtLeast, [EL, before + 2] as [string, number], { timeout: 10_000 });
    const reasons = ofType(await page.evaluate(streamEvents), 'tpdne-disconnect').map((e) => e.reason);
    assert.deepEqual(reasons, ['paused']);
  });

  it('says "paused" when paused from the start, instead of a blank square; nothing once live', async () => {
    const page = await open('/paused-start');
    await page.waitForFunction(() => (globalThis as unknown as { customElements: { get(n: string): unknown } }).customElements.get('tpdne-stream') !== undefined);
    await sleep(300);
    assert.deepEqual(await page.evaluate(STATUS), { text: 'paused', shown: true });
    assert.equal((await page.evaluate(streamInfo, EL)).state, 'idle');
    assert.equal((await page.evaluate(drawnPixels, EL)).drawn, 0, 'no frame yet: the label is all there is');
    await page.evaluate(setAttribute, [EL, 'paused', null] as [string, string, string | null]);
    await page.waitForFunction(drawnAtLeast, [EL, 1] as [string, number], { timeout: 10_000 });
    assert.deepEqual(await page.evaluate(STATUS), { text: '', shown: false });
  });

  it('says "offline" when it cannot reach its server', async () => {
    const page = await open('/unreachable');
    await page.waitForFunction(() => {
      const el = (globalThis as unknown as { document: { querySelector(s: string): { stats?: { failures: number } } | null } }).document.querySelector('tpdne-stream');
      return (el?.stats?.failures ?? 0) >= 1;
    });
    assert.deepEqual(await page.evaluate(STATUS), { text: 'offline', shown: true });
  });

  it('fit="contain" letterboxes a wide box, fit="cover" fills it', async () => {
    const page = await open('/wide');
    await page.waitForFunction(drawnAtLeast, [EL, 1] as [string, number], { timeout: 15_000 });
    await page.evaluate(setAttribute, [EL, 'crossfade', '0'] as [string, string, string | null]);
    await sleep(INTERVAL * 2);
    const contain = await page.evaluate(drawnPixels, EL);
    assert.equal(contain.width, 256);
    assert.equal(contain.height, 128);
    // A square frame in a 2:1 box: drawn 128x128 in the middle, half the pixels.
    assert.equal(contain.drawn, 128 * 128);
    await page.evaluate(setAttribute, [EL, 'fit', 'cover'] as [string, string, string | null]);
    const cover = await page.evaluate(drawnPixels, EL);
    assert.equal(cover.drawn, cover.total);
  });

  it('/embed streams inside an iframe on another site', async () => {
    const page = await open('/iframe');
    await until('the iframe', () => page.frames().some((f) => f.url() === `${server.url}/embed?fit=cover`));
    const frame = page.frames().find((f) => f.url() === `${server.url}/embed?fit=cover`)!;
    await frame.waitForFunction(drawnAtLeast, [EL, 3] as [string, number], { timeout: 15_000 });
    const pixels = await frame.evaluate(drawnPixels, EL);
    assert.deepEqual([pixels.width, pixels.height], [320, 200]);
    assert.equal(pixels.drawn, pixels.total, 'fit=cover from the query fills the frame');
  });

  // Last: it stops the server.
  it('keeps the last frame on screen when the connection drops', async () => {
    const page = await open('/');
    await page.waitForFunction(drawnAtLeast, [EL, 2] as [string, number], { timeout: 15_000 });
    await server.close();
    await page.waitForFunction(() => (globalThis as unknown as { __tpdneEvents: StreamEvent[] }).__tpdneEvents.some((e) => e.type === 'tpdne-disconnect'));
    await sleep(INTERVAL + 100);
    const { state } = await page.evaluate(streamInfo, EL);
    assert.ok(state === 'closed' || state === 'connecting', state);
    const events = await page.evaluate(streamEvents);
    assert.deepEqual(
      ofType(events, 'tpdne-disconnect').map((e) => e.reason),
      ['network'],
    );
    const pixels = await page.evaluate(drawnPixels, EL);
    assert.equal(pixels.drawn, pixels.total, 'the last frame, not a blank or broken image');
    const status = (await page.evaluate(STATUS)) as { text: string; shown: boolean };
    assert.ok(['offline', 'connecting…'].includes(status.text) && status.shown, JSON.stringify(status));
    await page.close();
  });
});

describe('<tpdne-stream> with --allow-origin', { skip: skipUnlessProgram('chromium', 'chromium') }, () => {
  let server: TestServer;
  let allowed: Site;
  let other: Site;
  let browser: Browser;

  before(async () => {
    let base = '';
    allowed = await startSite(() => embeddingPage(base));
    other = await startSite(() => embeddingPage(base));
    server = await startTestServer({ interval: 500, size: 128, allowOrigin: allowed.origin });
    base = server.url;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await allowed?.close();
    await other?.close();
    await server?.close();
  });

  it('streams to a listed origin and lets it read the images (CORS)', async () => {
    const page = await browser.newPage();
    await page.goto(allowed.url);
    await page.waitForFunction(drawnAtLeast, [EL, 2] as [string, number], { timeout: 15_000 });
    const read = await page.evaluate(fetchFromPage, `${server.url}/image.webp`);
    assert.equal(read.status, 200);
    assert.match(read.slot ?? '', /^\d+$/);
    await page.close();
  });

  it('refuses the socket (403) and the images to any other origin', async () => {
    const page = await browser.newPage();
    const console: string[] = [];
    page.on('console', (message) => console.push(message.text()));
    await page.addInitScript(recordStreamEvents);
    const forbiddenBefore = (server.health().stream as { forbidden: number }).forbidden;
    await page.goto(other.url);
    await until('a refused attempt', () => (server.health().stream as { forbidden: number }).forbidden > forbiddenBefore);
    await sleep(500);
    const { stats, state } = await page.evaluate(streamInfo, EL);
    assert.equal(stats.connects, 0);
    assert.equal(stats.drawn, 0);
    assert.ok(stats.failures >= 1);
    assert.notEqual(state, 'open');
    assert.equal((await page.evaluate(streamEvents)).length, 0, 'no tpdne-connect, no frames');
    assert.ok(
      console.some((line) => line.includes('/stream') && line.includes('403')),
      `the browser saw a 403: ${console.join(' | ')}`,
    );
    assert.equal(server.health().viewers, 0);
    const read = await page.evaluate(fetchFromPage, `${server.url}/image.webp`);
    assert.match(read.error ?? '', /TypeError/, 'CORS blocks reading the image');
    await page.close();
  });

  it("still streams to the server's own /live page", async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/live');
    await page.waitForFunction(drawnAtLeast, [EL, 2] as [string, number], { timeout: 15_000 });
    await page.close();
  });
});
