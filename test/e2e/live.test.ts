import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { skipUnlessProgram } from '../helpers/system.js';
import { launchChromium, sha1, sleep } from '../helpers/browser.js';
import { canvasHash, drawnAtLeast, fadeProbe, hrefOrValue, recordStreamEvents, streamEvents, streamInfo, texts } from '../helpers/page.js';

const INTERVAL = 250;

async function openLive(browser: Browser, url: string, reducedMotion: 'reduce' | 'no-preference' = 'no-preference'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 480, height: 360 }, reducedMotion });
  await page.addInitScript(recordStreamEvents);
  await page.goto(url + '/live');
  await page.waitForFunction(drawnAtLeast, ['tpdne-stream', 2] as [string, number], { timeout: 15_000 });
  return page;
}

describe('/live in chromium', { skip: skipUnlessProgram('chromium', 'chromium') }, () => {
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

  it('draws pixels that change across at least 3 frames within 2 s', async () => {
    const page = await openLive(browser, server.url);
    const start = Date.now();
    const firstShotOfSlot = new Map<number, string>();
    while (Date.now() - start < 2000 && firstShotOfSlot.size < 3) {
      const { stats } = await page.evaluate(streamInfo, 'tpdne-stream');
      const shot = sha1(await page.screenshot());
      if (stats.slot !== null && !firstShotOfSlot.has(stats.slot)) firstShotOfSlot.set(stats.slot, shot);
    }
    const elapsed = Date.now() - start;
    process.stdout.write(`# /live: ${firstShotOfSlot.size} frames on screen in ${elapsed} ms\n`);
    assert.ok(firstShotOfSlot.size >= 3, `saw ${firstShotOfSlot.size} frames in ${elapsed} ms`);
    assert.ok(elapsed <= 2000, `took ${elapsed} ms`);
    const shots = [...firstShotOfSlot.values()];
    assert.equal(new Set(shots).size, shots.length, 'each frame looks different on screen');
    await page.close();
  });

  it('shows a frame rate within 25% of the server interval, and the connection state', async () => {
    const page = await openLive(browser, server.url);
    // The meter averages over 3 s; give it a full window of frames.
    await sleep(3500);
    const [fps, state] = await page.evaluate(texts, ['#fps', '#state']);
    const hud = { fps, state };
    const shown = Number(/^([\d.]+) fps$/.exec(hud.fps ?? '')?.[1]);
    const expected = 1000 / INTERVAL;
    process.stdout.write(`# /live shows ${hud.fps}; server interval ${INTERVAL} ms = ${expected} fps; server measured ${server.health().fps}\n`);
    assert.ok(Math.abs(shown - expected) <= expected * 0.25, `shown ${hud.fps}, expected ${expected} fps ± 25%`);
    assert.equal(hud.state, 'live');
    await page.close();
  });

  it('links to the classic page and offers an embed snippet', async () => {
    const page = await openLive(browser, server.url);
    const links = {
      classic: await page.evaluate(hrefOrValue, '#hud a'),
      snippet: await page.evaluate(hrefOrValue, '#snippet'),
      iframe: (await page.evaluate(texts, ['#iframe-snippet']))[0],
    };
    assert.equal(links.classic, server.url + '/');
    assert.equal(
      links.snippet,
      `<script type="module" src="${server.url}/embed.js"></script>\n<tpdne-stream src="${server.url}" style="width:512px"></tpdne-stream>`,
    );
    assert.equal(links.iframe, `<iframe src="${server.url}/embed" width="512" height="512" style="border:0"></iframe>`);
    await page.click('#embed-toggle');
    assert.equal(await page.isVisible('#snippet'), true);
    // The iframe snippet is one line (it scrolls), never broken inside a number.
    const lines = await page.evaluate(`(() => {
      const range = document.createRange();
      range.selectNodeContents(document.querySelector('#iframe-snippet'));
      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
    })()`);
    assert.equal(lines, 1);
    await page.close();
  });

  it('keeps the HUD text readable over the brightest frame (contrast 7:1 over white)', async () => {
    const page = await openLive(browser, server.url);
    // Composites the HUD's text and backing over a white frame, with the HUD's opacity,
    // and returns the WCAG contrast ratio of the two.
    const ratio = await page.evaluate(`(() => {
      const style = getComputedStyle(document.querySelector('#hud'));
      const rgba = (css) => { const [r, g, b, a = 1] = css.match(/[\\d.]+/g).map(Number); return { c: [r, g, b], a }; };
      const over = (top, under) => top.c.map((v, i) => v * top.a + under[i] * (1 - top.a));
      const opacity = Number(style.opacity);
      const white = [255, 255, 255];
      const backing = over(rgba(style.backgroundColor), white);
      const text = over(rgba(style.color), backing);
      const seen = (c) => over({ c, a: opacity }, white);
      const lum = (c) => c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
      const [hi, lo] = [lum(seen(text)), lum(seen(backing))].sort((a, b) => b - a);
      return (hi + 0.05) / (lo + 0.05);
    })()`);
    assert.ok(Number(ratio) >= 7, `contrast ${Number(ratio).toFixed(2)}:1`);
    await page.close();
  });

  it('crossfades each frame into the next, and prefers-reduced-motion turns the fade off', async () => {
    const fading = await openLive(browser, server.url);
    const fade = await fading.evaluate(fadeProbe, 100);
    const fadeStats = (await fading.evaluate(streamInfo, 'tpdne-stream')).stats;
    await fading.close();
    assert.equal(fadeStats.crossfade, INTERVAL, 'auto crossfade lasts one interval');
    assert.equal(fade.laterSlot, fade.slot, 'no newer frame during the probe');
    assert.notEqual(fade.later, fade.atEvent, 'the picture keeps changing after the frame arrives (fading)');

    const still = await openLive(browser, server.url, 'reduce');
    const noFade = await still.evaluate(fadeProbe, 100);
    const stillStats = (await still.evaluate(streamInfo, 'tpdne-stream')).stats;
    const events = await still.evaluate(streamEvents);
    await still.close();
    assert.equal(stillStats.crossfade, 0);
    assert.equal(noFade.laterSlot, noFade.slot, 'no newer frame during the probe');
    assert.equal(noFade.later, noFade.atEvent, 'the frame is drawn whole at once');
    assert.ok(events.some((e) => e.type === 'tpdne-connect'));
  });

  it('keeps the canvas drawn (not blank) while streaming', async () => {
    const page = await openLive(browser, server.url);
    const { nonBlank } = await page.evaluate(canvasHash, 'tpdne-stream');
    assert.ok(nonBlank > 0);
    await page.close();
  });
});

describe('/live when the server goes away', { skip: skipUnlessProgram('chromium', 'chromium') }, () => {
  it('shows no frame rate once it stops receiving', async () => {
    const server = await startTestServer({ interval: INTERVAL, size: 64 });
    const browser = await launchChromium();
    try {
      const page = await openLive(browser, server.url);
      await page.waitForFunction(() => /^[\d.]+ fps$/.test((globalThis as unknown as { document: { querySelector(s: string): { textContent: string } } }).document.querySelector('#fps').textContent));
      await server.close();
      await page.waitForFunction(() => (globalThis as unknown as { __tpdneEvents: { type: string }[] }).__tpdneEvents.some((e) => e.type === 'tpdne-disconnect'));
      // Well inside the meter's 3 s window, which still holds the last frames.
      await sleep(1200);
      const [fps, state] = await page.evaluate(texts, ['#fps', '#state']);
      assert.notEqual(state, 'live');
      assert.equal(fps, '– fps');
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
