import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { Frame } from '../../server/frames/frame.js';
import { renderClassicPage } from '../../server/http/pages.js';
import { startTestServer, waitForFrame, type TestServer } from '../helpers/server.js';
import { rawRequest, type RawResponse } from '../helpers/http.js';

const INTERVAL = 250;
const KEPT = 8;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const POINTER = 'public, max-age=0, s-maxage=1, must-revalidate';
const CDN = 'public, max-age=1';
const BASE = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'strict-origin-when-cross-origin' };
const TEXT = { ...BASE, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
const CLASSIC_CSP =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'none'; " +
  "connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

const lastModified = (f: Frame) => new Date(f.createdAt).toUTCString();

/** The headers of a frame response, without the body's (Content-Type, Content-Length). */
function frameHeaders(f: Frame, immutable: boolean): Record<string, string> {
  return {
    ...BASE,
    ...(immutable ? { 'cache-control': IMMUTABLE } : { 'cache-control': POINTER, 'cdn-cache-control': CDN }),
    'access-control-allow-origin': '*',
    'access-control-expose-headers': 'ETag, X-Tpdne-Slot',
    'cross-origin-resource-policy': 'cross-origin',
    'x-tpdne-slot': String(f.slot),
    etag: f.etag,
    'last-modified': lastModified(f),
  };
}

const withType = (headers: Record<string, string>, type: string) => ({ ...headers, 'content-type': type });

/** Every header of the response but the connection's own. */
function headersOf(res: RawResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, values] of res.raw) {
    if (!['date', 'connection', 'keep-alive', 'transfer-encoding'].includes(name)) out[name] = values.join(', ');
  }
  return out;
}

interface Row {
  what: string;
  method?: string;
  path: () => string;
  headers?: (current: Frame) => Record<string, string>;
  /**
   * Expected status, headers and body, given the current frame. Content-Length is the
   * body's; a row without a body (the favicon) takes the response's.
   */
  expect: (frame: Frame) => { status: number; headers: Record<string, string>; body?: Buffer | string };
}

describe('cache headers on the app alone: status and every header, per request', () => {
  let server: TestServer;
  let evicted: Frame;
  let old: Frame;
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;

  before(async () => {
    server = await startTestServer({ interval: INTERVAL, size: 64, framesKept: KEPT });
    evicted = await waitForFrame(server);
    const now = await waitForFrame(server, evicted.slot + KEPT + 1);
    assert.equal(server.store.get(evicted.slot), undefined, 'the first frame is evicted');
    old = server.store.get(now.slot - 2)!;
  });

  after(async () => {
    await server?.close();
  });

  const image: Row['expect'] = (f) => ({ status: 200, headers: withType(frameHeaders(f, false), 'image/webp'), body: f.bytes });
  const notModified = (immutable: boolean): Row['expect'] => (f) => ({ status: 304, headers: frameHeaders(f, immutable) });
  const slotUrl = (): string => `/frames/${old.slot}.webp`;
  const oldFrame: Row['expect'] = () => ({ status: 200, headers: withType(frameHeaders(old, true), 'image/webp'), body: old.bytes });
  const notFound: Row['expect'] = () => ({ status: 404, headers: TEXT, body: 'Frame not kept (too old or not made yet)\n' });
  const badSlot: Row['expect'] = () => ({ status: 400, headers: TEXT, body: 'Expected /frames/<slot>.webp\n' });
  const page = (f: Frame) => renderClassicPage(f, { modelName: server.generator.name, pixelated: false });

  const rows: Row[] = [
    { what: 'GET /image.webp', path: () => '/image.webp', expect: image },
    { what: 'HEAD /image.webp (headers only)', method: 'HEAD', path: () => '/image.webp', expect: image },
    { what: 'GET /image (no extension)', path: () => '/image', expect: image },
    { what: 'GET /image.webp, If-None-Match: its ETag', path: () => '/image.webp', headers: (c) => ({ 'If-None-Match': c.etag }), expect: notModified(false) },
    { what: 'GET /image.webp, If-None-Match: weak form of its ETag', path: () => '/image.webp', headers: (c) => ({ 'If-None-Match': `W/${c.etag}` }), expect: notModified(false) },
    { what: 'GET /image.webp, If-None-Match: a list with its ETag', path: () => '/image.webp', headers: (c) => ({ 'If-None-Match': `"x", ${c.etag}` }), expect: notModified(false) },
    { what: 'GET /image.webp, If-None-Match: *', path: () => '/image.webp', headers: () => ({ 'If-None-Match': '*' }), expect: notModified(false) },
    { what: 'GET /image.webp, If-None-Match: an old ETag', path: () => '/image.webp', headers: () => ({ 'If-None-Match': old.etag }), expect: image },
    { what: 'GET /image.webp, If-None-Match old + If-Modified-Since now (INM wins)', path: () => '/image.webp', headers: () => ({ 'If-None-Match': old.etag, 'If-Modified-Since': new Date().toUTCString() }), expect: image },
    { what: 'GET /image.webp, If-Modified-Since: its own Last-Modified (same second: may have changed)', path: () => '/image.webp', headers: (c) => ({ 'If-Modified-Since': lastModified(c) }), expect: image },
    { what: 'GET /image.webp, If-Modified-Since: tomorrow (ignored)', path: () => '/image.webp', headers: () => ({ 'If-Modified-Since': new Date(Date.now() + 86_400_000).toUTCString() }), expect: image },
    { what: 'GET /image.webp, If-Modified-Since: not a date', path: () => '/image.webp', headers: () => ({ 'If-Modified-Since': 'yesterday' }), expect: image },
    { what: 'GET /frames/<old slot>.webp', path: slotUrl, expect: oldFrame },
    { what: 'HEAD /frames/<old slot>.webp', method: 'HEAD', path: slotUrl, expect: oldFrame },
    { what: 'GET /frames/<old slot>.webp, If-None-Match: its ETag', path: slotUrl, headers: () => ({ 'If-None-Match': old.etag }), expect: () => ({ status: 304, headers: frameHeaders(old, true) }) },
    { what: 'GET /frames/<old slot>.webp, If-None-Match: the current ETag', path: slotUrl, headers: (c) => ({ 'If-None-Match': c.etag }), expect: oldFrame },
    { what: 'GET /frames/<old slot>.webp, If-Modified-Since: its Last-Modified', path: slotUrl, headers: () => ({ 'If-Modified-Since': lastModified(old) }), expect: () => ({ status: 304, headers: frameHeaders(old, true) }) },
    { what: 'GET /frames/<old slot>.webp, If-Modified-Since: a day earlier', path: slotUrl, headers: () => ({ 'If-Modified-Since': new Date(old.createdAt - 86_400_000).toUTCString() }), expect: oldFrame },
    { what: 'GET /frames/<evicted slot>.webp', path: () => `/frames/${evicted.slot}.webp`, expect: notFound },
    { what: 'GET /frames/<future slot>.webp', path: () => `/frames/${server.store.current()!.slot + 100}.webp`, expect: notFound },
    { what: 'GET /frames/abc.webp (bad slot)', path: () => '/frames/abc.webp', expect: badSlot },
    { what: 'GET /frames/<slot>.png (wrong format)', path: () => `/frames/${old.slot}.png`, expect: badSlot },
    { what: 'GET /frames/<16 digits>.webp (too long)', path: () => '/frames/1234567890123456.webp', expect: badSlot },
    {
      what: 'GET / (the classic page)',
      path: () => '/',
      expect: (f) => ({
        status: 200,
        headers: { ...BASE, 'content-type': 'text/html; charset=utf-8', 'cache-control': POINTER, 'cdn-cache-control': CDN, 'content-security-policy': CLASSIC_CSP, 'x-frame-options': 'SAMEORIGIN', etag: f.etag, 'last-modified': lastModified(f) },
        body: page(f),
      }),
    },
    {
      what: 'GET /, If-None-Match: its ETag',
      path: () => '/',
      headers: (c) => ({ 'If-None-Match': c.etag }),
      expect: (f) => ({ status: 304, headers: { ...BASE, 'cache-control': POINTER, 'cdn-cache-control': CDN, 'content-security-policy': CLASSIC_CSP, 'x-frame-options': 'SAMEORIGIN', etag: f.etag, 'last-modified': lastModified(f) } }),
    },
    {
      what: 'GET /favicon.png',
      path: () => '/favicon.png',
      expect: (f) => ({
        status: 200,
        headers: { ...BASE, 'content-type': 'image/png', 'cache-control': POINTER, 'cdn-cache-control': CDN, etag: `"${f.etag.slice(1, -1)}-32.png"`, 'last-modified': lastModified(f) },
      }),
    },
    {
      what: 'GET /favicon.png, If-None-Match: its ETag',
      path: () => '/favicon.png',
      headers: (c) => ({ 'If-None-Match': `"${c.etag.slice(1, -1)}-32.png"` }),
      expect: (f) => ({ status: 304, headers: { ...BASE, 'cache-control': POINTER, 'cdn-cache-control': CDN, etag: `"${f.etag.slice(1, -1)}-32.png"`, 'last-modified': lastModified(f) } }),
    },
    { what: 'POST /image.webp', method: 'POST', path: () => '/image.webp', expect: () => ({ status: 405, headers: { ...TEXT, allow: 'GET, HEAD' }, body: 'Method not allowed\n' }) },
  ];

  for (const row of rows) {
    it(row.what, async () => {
      // A pointer can move to the next frame during the request: then ask again.
      for (let attempt = 1; ; attempt++) {
        const current = server.store.current()!;
        const res = await rawRequest(url(row.path()), { method: row.method ?? 'GET', headers: row.headers?.(current) ?? {} });
        if (server.store.current() !== current && attempt < 5) continue;
        const expected = row.expect(current);
        const body = expected.body === undefined ? undefined : Buffer.from(expected.body);
        const headers = { ...expected.headers };
        if (expected.status !== 304) headers['content-length'] = String(body?.length ?? res.headers['content-length']);
        assert.equal(res.status, expected.status);
        assert.deepEqual(headersOf(res), headers);
        if (row.method === 'HEAD' || expected.status === 304) assert.equal(res.body.length, 0);
        else if (body) assert.ok(res.body.equals(body), 'the exact body');
        return;
      }
    });
  }

  it('serves a favicon of the current frame, 32x32 PNG, made once per frame however many ask', async () => {
    // The frame can move on while the 20 requests are answered (a loaded box): then the
    // favicons answered for `before` are fewer, so ask again until some are.
    let sameFrame: Awaited<ReturnType<typeof rawRequest>>[] = [];
    for (let attempt = 1; attempt <= 5 && sameFrame.length === 0; attempt++) {
      const before = server.store.current()!;
      const responses = await Promise.all(Array.from({ length: 20 }, () => rawRequest(url('/favicon.png'))));
      sameFrame = responses.filter((r) => r.headers.etag === `"${before.etag.slice(1, -1)}-32.png"`);
    }
    assert.ok(sameFrame.length > 0, 'some favicons answered for the frame current when asked');
    for (const r of sameFrame) assert.ok(r.body.equals(sameFrame[0]!.body), 'one PNG per frame, the same bytes for everyone');
    const meta = await sharp(sameFrame[0]!.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 32, 32]);
  });
});
