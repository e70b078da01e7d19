import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { rmSync, mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { renderNginxConfig, resolveNginxOptions } from '../../server/deploy/nginx.js';
import { slotAt } from '../../server/clock/slot.js';
import { decodeFrameMessage, type DecodedFrame } from '../../client/shared/protocol.js';
import { startTestServer, waitForFrame, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/models.js';
import { skipUnlessProgram } from '../helpers/system.js';
import { freePort, selfSignedCert, startNginx, wrapSiteConfig, nginxTest, type RunningNginx } from '../helpers/nginx.js';
import { main } from '../../server/cli/main.js';
import { rawRequest, type RawResponse } from '../helpers/http.js';

const DOMAIN = 'tpdne.test';
const INTERVAL = 250;
const SIZE = 64;
const skip = skipUnlessProgram('nginx', 'nginx-light') || skipUnlessProgram('openssl', 'openssl');

/** Every header nginx must add, and the value it must have, on every HTTPS response. */
const SECURITY_HEADERS: [string, string][] = [
  ['strict-transport-security', 'max-age=63072000'],
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'SAMEORIGIN'],
  ['referrer-policy', 'strict-origin-when-cross-origin'],
];

describe('nginx in front of tpdne (TLS, real nginx, real server)', { skip }, () => {
  let dir: string;
  let server: TestServer;
  let nginx: RunningNginx;
  let base: string;
  let httpBase: string;
  let httpsPort: number;
  const agent = new Agent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: false, servername: DOMAIN });
  /** Every request that reached the origin: path and when. */
  const originHits: { path: string; at: number }[] = [];

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> =>
    rawRequest(base + path, { method, headers: { Host: DOMAIN, ...headers }, agent, insecure: true, servername: DOMAIN });

  before(async () => {
    dir = tempDir('tpdne-nginx-');
    server = await startTestServer({ interval: INTERVAL, size: SIZE });
    server.server!.on('request', function countOriginHit(req) {
      originHits.push({ path: new URL(req.url ?? '/', 'http://x').pathname, at: Date.now() });
    });
    const { cert, key } = await selfSignedCert(dir, DOMAIN);
    const httpPort = await freePort();
    httpsPort = await freePort();
    const site = renderNginxConfig(
      resolveNginxOptions({
        domain: DOMAIN,
        upstream: `127.0.0.1:${server.port}`,
        tls: cert,
        tlsKey: key,
        interval: INTERVAL,
        listen: '127.0.0.1',
        httpPort,
        httpsPort,
        cacheDir: join(dir, 'cache'),
      }),
    );
    nginx = await startNginx(dir, wrapSiteConfig(dir, site), httpsPort);
    base = `https://127.0.0.1:${httpsPort}`;
    httpBase = `http://127.0.0.1:${httpPort}`;
    await waitForFrame(server);
  });

  after(async () => {
    agent.destroy();
    await nginx?.stop();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('redirects HTTP to HTTPS, keeping the path, with the security headers', async () => {
    const res = await rawRequest(`${httpBase}/image.webp?x=1`, { headers: { Host: DOMAIN } });
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, `https://${DOMAIN}:${httpsPort}/image.webp?x=1`);
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  });

  it('a WebSocket viewer through nginx over TLS receives consecutive frames', async () => {
    const socket = new WebSocket(`wss://127.0.0.1:${httpsPort}/stream`, { headers: { Host: DOMAIN }, rejectUnauthorized: false, perMessageDeflate: false });
    const frames: DecodedFrame[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${frames.length} of 4 frames in 10 s`)), 10_000);
        socket.on('message', (data: Buffer) => {
          frames.push(decodeFrameMessage(new Uint8Array(data)));
          if (frames.length === 4) {
            clearTimeout(timer);
            resolve();
          }
        });
        socket.once('error', reject);
        socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      });
    } finally {
      socket.terminate();
    }
    const slots = frames.map((f) => f.slot);
    for (let i = 1; i < slots.length; i++) assert.ok(slots[i]! > slots[i - 1]!, `slots increase: ${slots.join(', ')}`);
    for (const frame of frames) {
      assert.equal(frame.width, SIZE);
      const meta = await sharp(Buffer.from(frame.image)).metadata();
      assert.equal(meta.format, 'webp');
      assert.equal(meta.width, SIZE);
    }
  });

  it('2,000 requests to /image.webp over 2 s reach the origin about once per slot, and each is a whole, current image', async () => {
    // Open the client's 32 keep-alive connections first: the window measures steady traffic,
    // not 32 TLS handshakes at once on a shared 2-core machine.
    await Promise.all(Array.from({ length: 32 }, () => get('/healthz')));
    await new Promise((r) => setTimeout(r, 200));
    const published: { slot: number; at: number }[] = [];
    const unsubscribe = server.store.subscribe((frame) => published.push({ slot: frame.slot, at: Date.now() }));
    const start = Date.now();
    const pending: Promise<RawResponse>[] = [];
    // 10 requests every 10 ms for 2 s, not waiting for answers: a steady 1,000 requests/s.
    for (let tick = 0; tick < 200; tick++) {
      const wait = start + tick * 10 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (let i = 0; i < 10; i++) pending.push(get('/image.webp'));
    }
    const responses = await Promise.all(pending);
    const end = Date.now();
    unsubscribe();
    const hits = originHits.filter((h) => h.path === '/image.webp' && h.at >= start && h.at <= end);
    const slotsSpanned = slotAt(end, INTERVAL) - slotAt(start, INTERVAL) + 1;

    const slotsServed = new Set<number>();
    const cache = new Map<string, number>();
    let worstBehind = 0;
    for (const res of responses) {
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'image/webp');
      assert.equal(res.body.length, Number(res.headers['content-length']), 'the whole body arrived');
      const slot = Number(res.headers['x-tpdne-slot']);
      const frame = server.store.get(slot);
      assert.ok(frame?.bytes.equals(res.body), `the body is exactly frame ${slot} as the origin published it`);
      slotsServed.add(slot);
      // Frames the origin had published after this one by the time this response arrived.
      const behind = published.filter((p) => p.slot > slot && p.at <= res.receivedAt).length;
      worstBehind = Math.max(worstBehind, behind);
      const status = String(res.headers['x-cache-status']);
      cache.set(status, (cache.get(status) ?? 0) + 1);
    }
    for (const slot of slotsServed) {
      const { data, info } = await sharp(server.store.get(slot)!.bytes).raw().toBuffer({ resolveWithObject: true });
      assert.equal(data.length, SIZE * SIZE * info.channels, `frame ${slot} decodes to a whole ${SIZE}x${SIZE} image`);
    }
    const report =
      `${hits.length} origin hits for ${responses.length} requests in ${end - start} ms (${slotsSpanned} slots, ${published.length} frames published), ` +
      `${slotsServed.size} distinct images, cache ${JSON.stringify(Object.fromEntries(cache))}, worst ${worstBehind} frame(s) behind`;
    process.stdout.write(`# nginx load: ${report}\n`);
    // One origin fetch per slot; slack for the slot the window starts and ends in.
    assert.ok(hits.length >= 1 && hits.length <= slotsSpanned + 2, report);
    // A pointer stays in nginx one slot: a response is at most a frame behind, two for a
    // request that waited on the cache lock through a slot edge.
    assert.ok(worstBehind <= 2, report);
    assert.ok(slotsServed.size >= 2, report);
  });

  it('puts each security header exactly once on pages, images, slot URLs, 304s and errors', async () => {
    const frame = server.store.current()!;
    const image = await get('/image.webp');
    const cases: [string, RawResponse, number][] = [
      ['/', await get('/'), 200],
      ['/image.webp', image, 200],
      ['/image.webp (HEAD)', await get('/image.webp', {}, 'HEAD'), 200],
      [`/frames/${frame.slot}.webp`, await get(`/frames/${frame.slot}.webp`), 200],
      ['/favicon.png', await get('/favicon.png'), 200],
      ['/live', await get('/live'), 200],
      ['/image.webp (If-None-Match)', await get('/image.webp', { 'If-None-Match': String(image.headers.etag) }), 304],
      ['/frames/1.webp (evicted)', await get('/frames/1.webp'), 404],
      ['/frames/x.webp (bad slot)', await get('/frames/x.webp'), 400],
      ['/nope', await get('/nope'), 404],
    ];
    for (const [what, res, status] of cases) {
      assert.equal(res.status, status, what);
      for (const [name, value] of SECURITY_HEADERS) assert.deepEqual(res.raw.get(name), [value], `${name} on ${what}`);
    }
    // The app's own page headers pass through untouched.
    assert.match(String(cases[0]![1].headers['content-security-policy']), /script-src 'none'/);
  });

  it("lets /embed be framed as the app says: no X-Frame-Options, the app's frame-ancestors, the other headers once", async () => {
    for (const path of ['/embed', '/embed?fit=cover']) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.raw.get('x-frame-options'), undefined, `no X-Frame-Options on ${path}`);
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors \*/, path);
      for (const [name, value] of SECURITY_HEADERS) if (name !== 'x-frame-options') assert.deepEqual(res.raw.get(name), [value], `${name} on ${path}`);
    }
    // Only /embed: pages that look like it keep SAMEORIGIN.
    for (const path of ['/embed.js', '/embedx', '/live']) assert.deepEqual((await get(path)).raw.get('x-frame-options'), ['SAMEORIGIN'], path);
  });

  it('compresses the page but never an image', async () => {
    const gz = { 'Accept-Encoding': 'gzip' };
    assert.equal((await get('/', gz)).headers['content-encoding'], 'gzip');
    assert.equal((await get('/image.webp', gz)).headers['content-encoding'], undefined);
    const slot = server.store.current()!.slot;
    assert.equal((await get(`/frames/${slot}.webp`, gz)).headers['content-encoding'], undefined);
    assert.equal((await get('/favicon.png', gz)).headers['content-encoding'], undefined);
  });

  it('serves a slot URL to everyone from one origin fetch, immutable', async () => {
    const frame = await waitForFrame(server, server.store.current()!.slot + 1);
    const path = `/frames/${frame.slot}.webp`;
    const before = originHits.filter((h) => h.path === path).length;
    const responses = await Promise.all(Array.from({ length: 50 }, () => get(path)));
    assert.equal(originHits.filter((h) => h.path === path).length - before, 1);
    for (const res of responses) {
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.ok(res.body.equals(frame.bytes));
    }
  });

  it('keeps query strings out of the cache key, so they cannot reach the origin', async () => {
    const frame = await waitForFrame(server, server.store.current()!.slot + 1);
    const path = `/frames/${frame.slot}.webp`;
    await get(path);
    const before = originHits.filter((h) => h.path === path).length;
    await Promise.all(Array.from({ length: 20 }, (_, i) => get(`${path}?bust=${i}`)));
    assert.equal(originHits.filter((h) => h.path === path).length, before);
  });
});

/** Runs `tpdne <args>` in-process; returns the exit code and what it printed. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('nginx -t accepts every generated variant', { skip }, () => {
  let dir: string;
  let cert: string;
  let key: string;
  let live: string;

  before(async () => {
    dir = tempDir('tpdne-nginx-t-');
    ({ cert, key } = await selfSignedCert(dir, DOMAIN));
    // Stand-ins for certbot's files, where --letsencrypt-dir says they live.
    live = join(dir, 'live');
    mkdirSync(join(live, DOMAIN), { recursive: true });
    copyFileSync(cert, join(live, DOMAIN, 'fullchain.pem'));
    copyFileSync(key, join(live, DOMAIN, 'privkey.pem'));
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const variants: [string, () => string[]][] = [
    ['--tls off, default ports and addresses', () => ['--tls', 'off']],
    ['--tls off on 127.0.0.1:8081, interval 1000 (no slot map)', () => ['--tls', 'off', '--listen', '127.0.0.1', '--http-port', '8081', '--interval', '1000']],
    ['--tls <cert> <key> (positional key), 160 ms slots (625 map entries)', () => ['--tls', cert, key, '--interval', '160']],
    ['--tls-cert --tls-key, IPv6 upstream, 20 ms slots', () => ['--tls-cert', cert, '--tls-key', key, '--upstream', '[::1]:8080', '--interval', '20']],
    ['--tls letsencrypt with stand-in certbot files', () => ['--tls', 'letsencrypt', '--letsencrypt-dir', live]],
    ['default (letsencrypt), host-name upstream, 800 ms slots (a 100 s map), other ports', () => ['--letsencrypt-dir', live, '--upstream', 'localhost:9000', '--interval', '800', '--http-port', '8080', '--https-port', '8443']],
  ];
  for (const [name, args] of variants) {
    it(name, async () => {
      const prefix = tempDir('tpdne-nginx-variant-');
      try {
        const site = join(prefix, 'generated.conf');
        const generated = await cli(['nginx', '--domain', DOMAIN, '--cache-dir', join(prefix, 'cache'), '--acme-root', join(prefix, 'acme'), ...args(), '--out', site]);
        assert.equal(generated.code, 0, generated.err);
        assert.equal(generated.out, '');
        assert.match(generated.err, /^tpdne: wrote .*generated\.conf; check and load it with: nginx -t && systemctl reload nginx\n$/);
        const result = await nginxTest(prefix, wrapSiteConfig(prefix, readFileSync(site, 'utf8')));
        assert.equal(result.code, 0, result.output);
        assert.match(result.output, /test is successful/);
        // Newer nginx (1.25.1+) warns that `listen … http2` is deprecated; nothing else may warn.
        const warnings = result.output.split('\n').filter((l) => /\[(warn|emerg|alert|crit)\]/.test(l) && !/"listen \.\.\. http2" directive is deprecated/.test(l));
        assert.deepEqual(warnings, []);
      } finally {
        rmSync(prefix, { recursive: true, force: true });
      }
    });
  }

  it('fails (so the test above can) when certbot has not made the files yet', async () => {
    const prefix = tempDir('tpdne-nginx-variant-');
    try {
      const generated = await cli(['nginx', '--domain', DOMAIN, '--cache-dir', join(prefix, 'cache'), '--letsencrypt-dir', join(prefix, 'none')]);
      assert.equal(generated.code, 0);
      const result = await nginxTest(prefix, wrapSiteConfig(prefix, generated.out));
      assert.notEqual(result.code, 0);
      assert.match(result.output, /cannot load certificate ".*none\/tpdne\.test\/fullchain\.pem"/);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });
});
