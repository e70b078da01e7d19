import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, waitForFrame, connectViewer, type TestServer } from '../helpers/server.js';
import { ROOT } from '../helpers/paths.js';

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

describe('embedding over HTTP and WebSocket (defaults: any origin, any framer)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ interval: 250, size: 64 });
    await waitForFrame(server);
  });
  after(() => server.close());

  it('serves /embed.js as one standalone module any site may load', async () => {
    const res = await get(`${server.url}/embed.js`, { Origin: 'https://blog.example' });
    const body = await res.text();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(body, readFileSync(join(ROOT, 'dist/web/embed.js'), 'utf8'));
    assert.match(body, /customElements\.define\("tpdne-stream"/);
    assert.doesNotMatch(body, /^\s*import[\s{*]/m, 'imports nothing: one file');
  });

  it('serves /embed framable by any site, with the query passed to the element', async () => {
    const res = await get(`${server.url}/embed?fit=cover&crossfade=0`);
    const body = await res.text();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-frame-options'), null);
    assert.match(res.headers.get('content-security-policy') ?? '', /(^|; )frame-ancestors \*;/);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(body, /<script type="module" src="embed\.js"><\/script>/);
    assert.match(body, /<link rel="icon" type="image\/png" href="favicon\.png">/);
    assert.equal((await get(`${server.url}/favicon.png`)).status, 200, 'the icon it names is there');
    assert.match(body, /<tpdne-stream fit="cover" crossfade="0"><\/tpdne-stream>/);
  });

  const queries: [string, string][] = [
    ['', '<tpdne-stream></tpdne-stream>'],
    ['?fit="><script>alert(1)</script>', '<tpdne-stream fit="contain"></tpdne-stream>'],
    ['?crossfade=<b>', '<tpdne-stream crossfade="auto"></tpdne-stream>'],
    ['?other=1', '<tpdne-stream></tpdne-stream>'],
  ];
  for (const [query, element] of queries) {
    it(`/embed${query} renders ${element}`, async () => {
      const body = await (await get(`${server.url}/embed${query}`)).text();
      assert.ok(body.includes(element), body);
      assert.doesNotMatch(body, /alert/);
    });
  }

  for (const path of ['/', '/live']) {
    it(`keeps ${path} same-origin-framed with a CSP and nosniff`, async () => {
      const res = await get(server.url + path);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'self'/);
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    });
  }

  it('sends CORS headers on /image.webp and /frames/<slot>.webp', async () => {
    const image = await get(`${server.url}/image.webp`, { Origin: 'https://blog.example' });
    const slot = image.headers.get('x-tpdne-slot');
    const frame = await get(`${server.url}/frames/${slot}.webp`, { Origin: 'https://blog.example' });
    for (const res of [image, frame]) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal(res.headers.get('access-control-expose-headers'), 'ETag, X-Tpdne-Slot');
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
      assert.equal(res.headers.get('vary'), null);
    }
  });

  it('lets a page of any origin open the stream', async () => {
    const viewer = await connectViewer(server.url, { Origin: 'https://anyone.example' });
    await viewer.until(1);
    await viewer.close();
  });
});

describe('embedding with --allow-origin and --frame-ancestors', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      interval: 250,
      size: 64,
      allowOrigin: 'https://a.example,http://127.0.0.1:5173',
      frameAncestors: "'self' https://a.example",
    });
    await waitForFrame(server);
  });
  after(() => server.close());

  it('refuses the socket of an unlisted origin with 403 before the upgrade', async () => {
    await assert.rejects(connectViewer(server.url, { Origin: 'https://evil.example' }), { message: 'Upgrade refused with 403' });
    await assert.rejects(connectViewer(server.url, { Origin: 'http://127.0.0.1:5174' }), { message: 'Upgrade refused with 403' });
    const health = server.health();
    assert.equal(health.viewers, 0);
    assert.deepEqual(health.stream, { skipped: 0, refused: 0, forbidden: 2, bufferedBytes: 0 });
  });

  it("accepts listed origins, the server's own pages and clients that send no Origin", async () => {
    const host = new URL(server.url).host;
    const origins: Record<string, string>[] = [{ Origin: 'https://a.example' }, { Origin: 'http://127.0.0.1:5173' }, { Origin: `http://${host}` }, {}];
    const viewers = await Promise.all(origins.map((headers) => connectViewer(server.url, headers)));
    await Promise.all(viewers.map((v) => v.until(1)));
    assert.equal(server.health().viewers, 4);
    await Promise.all(viewers.map((v) => v.close()));
  });

  it('answers CORS for listed origins only, varying on Origin', async () => {
    const listed = await get(`${server.url}/image.webp`, { Origin: 'https://a.example' });
    assert.equal(listed.headers.get('access-control-allow-origin'), 'https://a.example');
    assert.equal(listed.headers.get('vary'), 'Origin');
    const other = await get(`${server.url}/image.webp`, { Origin: 'https://evil.example' });
    assert.equal(other.status, 200, 'the bytes are public (an <img> may show them); only script reads are refused');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    assert.equal(other.headers.get('vary'), 'Origin');
  });

  it('lets only the listed sites frame /embed', async () => {
    const res = await get(`${server.url}/embed`);
    assert.match(res.headers.get('content-security-policy') ?? '', /(^|; )frame-ancestors 'self' https:\/\/a\.example;/);
  });
});
