import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect } from 'node:net';
import { startTestServer, connectViewer, waitForFrame, type TestServer } from '../helpers/server.js';
import { rawRequest, rawWebSocket, slowloris } from '../helpers/raw.js';
import { rawRequest as httpRequest } from '../helpers/http.js';
import { frameMessage } from '../../server/stream/message.js';

/**
 * One contract, both transports: every assertion below runs against `ws` and `uws`
 * (uWebSockets.js), on real sockets, so the two cannot drift apart.
 */
const TRANSPORTS = ['ws', 'uws'] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
const ALLOWED = 'https://allowed.example';
type StreamHealth = { stream: { skipped: number; refused: number; forbidden: number; bufferedBytes: number } };
const streamHealth = (server: TestServer) => (server.health() as unknown as StreamHealth).stream;

/** A viewer from another loopback address, or with headers the helper does not send. */
function connectWs(port: number, options: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/stream`, { ...options, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`Upgrade refused with ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function closeWs(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((r) => {
    ws.once('close', () => r());
    ws.close();
  });
}

async function untilViewers(server: TestServer, count: number): Promise<void> {
  for (let i = 0; i < 100 && server.health().viewers !== count; i++) await sleep(10);
  assert.equal(server.health().viewers, count);
}

for (const transport of TRANSPORTS) {
  describe(`transport contract (${transport}): HTTP and stream`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ transport, size: 64, maxViewers: 6, maxViewersPerIp: 4, heartbeat: 200, allowOrigin: ALLOWED });
      await waitForFrame(server);
    });
    after(() => server.close());

    it('reports the transport and empty stream counters in /healthz', async () => {
      const res = await fetch(`${server.url}/healthz`);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(body.transport, transport);
      assert.equal(server.transport, transport);
      assert.equal(body.status, 'ok');
      assert.equal(body.viewers, 0);
      assert.deepEqual(body.stream, { skipped: 0, refused: 0, forbidden: 0, bufferedBytes: 0 });
      assert.deepEqual(body.size, { width: 64, height: 64 });
      assert.equal(server.server === null, transport === 'uws', 'a Node http.Server only on ws');
    });

    it('streams the same frames, byte for byte, to three viewers', async () => {
      const viewers = await Promise.all([1, 2, 3].map(() => connectViewer(server.url)));
      try {
        await untilViewers(server, 3);
        assert.equal(server.health().viewers, 3);
        await Promise.all(viewers.map((v) => v.until(5)));
        const bySlot = viewers.map((v) => new Map(v.frames.map((f) => [f.slot, Buffer.from(f.image)])));
        const common = [...bySlot[0]!.keys()].filter((s) => bySlot.every((m) => m.has(s))).sort((a, b) => a - b);
        assert.ok(common.length >= 3, `common slots: ${common.join(',')}`);
        for (const slot of common) {
          const kept = server.store.get(slot);
          for (const m of bySlot) assert.ok(m.get(slot)!.equals(kept!.bytes), `slot ${slot}: the stored frame's bytes`);
        }
        // And the message itself is the one built once per frame.
        const raw = await new Promise<Buffer>((r) => viewers[0]!.socket.once('message', (d: Buffer) => r(d)));
        const frame = server.store.current()!;
        assert.ok(raw.equals(frameMessage(frame, 250)), 'the wire bytes are frameMessage(frame)');
      } finally {
        await Promise.all(viewers.map((v) => v.close()));
      }
      await untilViewers(server, 0);
    });

    it('serves /image.webp with the bytes of the frame the stream sent for its slot', async () => {
      const viewer = await connectViewer(server.url);
      try {
        await viewer.until(viewer.frames.length + 2);
        const res = await fetch(`${server.url}/image.webp`);
        const body = Buffer.from(await res.arrayBuffer());
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'image/webp');
        const slot = Number(res.headers.get('x-tpdne-slot'));
        await viewer.until(viewer.frames.length + 1);
        const streamed = viewer.frames.find((f) => f.slot === slot);
        assert.ok(streamed, `slot ${slot} was streamed`);
        assert.ok(body.equals(Buffer.from(streamed.image)));
        assert.equal(res.headers.get('content-length'), String(body.length));
        assert.equal(res.headers.get('access-control-allow-origin'), null, 'another origin is not allowed to read it');
      } finally {
        await viewer.close();
      }
    });

    it('answers a revalidation with 304, the ETag and no body', async () => {
      const frame = server.store.current()!;
      const res = await fetch(`${server.url}/frames/${frame.slot}.webp`, { headers: { 'if-none-match': frame.etag } });
      assert.equal(res.status, 304);
      assert.equal(res.headers.get('etag'), frame.etag);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal((await res.arrayBuffer()).byteLength, 0);
      const raw = await rawRequest(server.port, `GET /frames/${frame.slot}.webp HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${frame.etag}\r\nConnection: close\r\n\r\n`);
      assert.equal(statusOf(raw), 304);
      assert.doesNotMatch(raw, /content-length/i, 'a 304 has no Content-Length');
      assert.ok(raw.endsWith('\r\n\r\n'), 'and no body');
    });

    it('answers HEAD with the headers of GET and no body', async () => {
      const frame = server.store.current()!;
      const url = `${server.url}/frames/${frame.slot}.webp`;
      const [head, get] = [await httpRequest(url, { method: 'HEAD' }), await httpRequest(url)];
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0, 'no body');
      assert.equal(head.headers['content-length'], String(frame.bytes.length));
      assert.equal(get.body.length, frame.bytes.length);
      for (const name of ['content-type', 'content-length', 'etag', 'last-modified', 'cache-control', 'x-tpdne-slot']) {
        assert.equal(head.headers[name], get.headers[name], name);
      }
    });

    it('serves /frames/<slot>.webp immutable, with its validators', async () => {
      const frame = server.store.current()!;
      const res = await fetch(`${server.url}/frames/${frame.slot}.webp`, { headers: { origin: ALLOWED } });
      assert.equal(res.status, 200);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(frame.bytes));
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(res.headers.get('etag'), frame.etag);
      assert.equal(res.headers.get('last-modified'), new Date(frame.createdAt).toUTCString());
      assert.equal(res.headers.get('x-tpdne-slot'), String(frame.slot));
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
      assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED);
      assert.equal(res.headers.get('vary'), 'Origin');
    });

    const statuses: [string, string, number, string][] = [
      ['POST /', 'POST / HTTP/1.1', 405, 'Method not allowed\n'],
      ['DELETE a frame', 'DELETE /frames/1.webp HTTP/1.1', 405, 'Method not allowed\n'],
      ['an unknown path', 'GET /nope HTTP/1.1', 404, 'Not found\n'],
      ['a slot never made', 'GET /frames/12.webp HTTP/1.1', 404, 'Frame not kept (too old or not made yet)\n'],
      ['a slot that is a word', 'GET /frames/abc.webp HTTP/1.1', 400, 'Expected /frames/<slot>.webp\n'],
      ['/stream without an upgrade', 'GET /stream HTTP/1.1', 426, 'Upgrade Required: /stream is a WebSocket\n'],
      ['a slot with a leading zero (one URL per frame)', 'GET /frames/012.webp HTTP/1.1', 400, 'Expected /frames/<slot>.webp\n'],
      ['a backslash, which is no slash (as nginx reads it)', 'GET /\\image.webp HTTP/1.1', 404, 'Not found\n'],
    ];
    for (const [name, line, status, body] of statuses) {
      it(`answers ${name} with ${status}`, async () => {
        const raw = await rawRequest(server.port, `${line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
        assert.equal(statusOf(raw), status, raw.slice(0, 200));
        assert.match(raw, /\r\nx-content-type-options: nosniff\r\n/i);
        assert.match(raw, /\r\ncache-control: no-store\r\n/i);
        assert.match(raw, new RegExp(`\r\ncontent-length: ${body.length}\r\n`, 'i'));
        assert.ok(raw.endsWith(`\r\n\r\n${body}`), raw);
        if (status === 405) assert.match(raw, /\r\nallow: GET, HEAD\r\n/i);
      });
    }

    // nginx merges slashes for its cache key and passes the URL on as sent: the app must
    // read it the same way, or one request could park a page under the image's key.
    const sameAs: [string, string, string][] = [
      ['//image.webp', '/image.webp', 'image/webp'],
      ['/.//image.webp?x=1', '/image.webp', 'image/webp'],
      ['//healthz', '/healthz', 'application/json'],
    ];
    for (const [sent, meant, type] of sameAs) {
      it(`reads ${sent} as ${meant}, never as a host name`, async () => {
        const raw = await rawRequest(server.port, `GET ${sent} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
        assert.equal(statusOf(raw), 200, raw.slice(0, 200));
        assert.match(raw, new RegExp(`\r\ncontent-type: ${type}\r\n`, 'i'));
      });
    }

    it('renders /embed from a URL the URL parser cannot read (its path is still /embed)', async () => {
      const raw = await rawRequest(server.port, 'GET //a:99999/../embed?fit=cover HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      assert.equal(statusOf(raw), 200, raw.slice(0, 200));
      assert.match(raw, /<tpdne-stream[^>]* fit="cover"/);
    });

    it('sends the pages their CSP and frame options', async () => {
      const classic = await fetch(`${server.url}/`);
      assert.equal(classic.status, 200);
      assert.match(classic.headers.get('content-security-policy')!, /script-src 'none'/);
      assert.equal(classic.headers.get('x-frame-options'), 'SAMEORIGIN');
      const embed = await fetch(`${server.url}/embed`);
      assert.match(embed.headers.get('content-security-policy')!, /frame-ancestors \*/);
    });

    it('answers /favicon.png after async work, and survives a client that leaves first', async () => {
      // A fresh frame's favicon is made on first request (sharp, async): a client that
      // goes away meanwhile must not get a write after its abort (uWS would throw).
      const frame = await waitForFrame(server, server.store.current()!.slot + 1);
      await new Promise<void>((resolve) => {
        const socket = connect(server.port, '127.0.0.1', () => {
          socket.write('GET /favicon.png HTTP/1.1\r\nHost: x\r\n\r\n', () => socket.destroy());
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve());
      });
      await sleep(300);
      const res = await fetch(`${server.url}/favicon.png`);
      const png = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'still serving');
    });

    it('answers 431 to a header block over 16 KB', async () => {
      const raw = await rawRequest(server.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      assert.equal(statusOf(raw), 431);
    });

    it('refuses a page of another origin with 403 before the upgrade', async () => {
      const { socket, response } = await rawWebSocket(server.port, 'Origin: https://evil.example\r\n');
      socket.destroy();
      assert.equal(statusOf(response), 403);
      assert.equal(server.health().viewers, 0);
      assert.equal(streamHealth(server).forbidden, 1);
      // The allowed origin, and a page of the server itself, may connect.
      const allowed = await connectWs(server.port, { headers: { Origin: ALLOWED } });
      const own = await connectWs(server.port, { headers: { Origin: `http://127.0.0.1:${server.port}` } });
      await untilViewers(server, 2);
      await Promise.all([closeWs(allowed), closeWs(own)]);
      await untilViewers(server, 0);
      assert.equal(streamHealth(server).forbidden, 1);
    });

    it('refuses viewers past the per-address cap, then the global cap, with 503', async () => {
      const refusedBefore = streamHealth(server).refused;
      const viewers = await Promise.all([1, 2, 3, 4].map(() => connectWs(server.port)));
      await assert.rejects(connectWs(server.port), /Upgrade refused with 503/);
      // 127.0.0.2 is loopback too: another address, up to the global cap of 6.
      const other = await Promise.all([1, 2].map(() => connectWs(server.port, { localAddress: '127.0.0.2' })));
      await assert.rejects(connectWs(server.port, { localAddress: '127.0.0.3' }), /Upgrade refused with 503/);
      assert.equal(server.health().viewers, 6);
      assert.equal(streamHealth(server).refused, refusedBefore + 2);
      await Promise.all([...viewers, ...other].map(closeWs));
      await untilViewers(server, 0);
      const again = await connectWs(server.port);
      await closeWs(again);
    });

    it('trusts X-Forwarded-For from loopback: each forwarded address has its own cap', async () => {
      const fromA = await Promise.all([1, 2, 3, 4].map(() => connectWs(server.port, { headers: { 'X-Forwarded-For': '198.51.100.1, 203.0.113.9' } })));
      await assert.rejects(connectWs(server.port, { headers: { 'X-Forwarded-For': '203.0.113.9' } }), /Upgrade refused with 503/);
      const fromB = await connectWs(server.port, { headers: { 'X-Forwarded-For': '203.0.113.10' } });
      await Promise.all([...fromA, fromB].map(closeWs));
      await untilViewers(server, 0);
    });

    it('closes a viewer that sends data with 1008', async () => {
      const viewer = await connectViewer(server.url);
      const closed = new Promise<number>((r) => viewer.socket.once('close', (code) => r(code)));
      viewer.socket.send('hello');
      assert.equal(await closed, 1008);
      await untilViewers(server, 0);
    });

    it('drops a viewer that never answers pings (heartbeat)', async () => {
      const { socket, response } = await rawWebSocket(server.port);
      assert.equal(statusOf(response), 101);
      await untilViewers(server, 1);
      const ended = new Promise<void>((r) => socket.once('close', () => r()));
      socket.on('data', () => {}); // reads frames, never answers a ping
      const started = Date.now();
      await ended;
      await untilViewers(server, 0);
      assert.ok(Date.now() - started < 2000, `cut after ${Date.now() - started} ms (heartbeat 200 ms)`);
    });

    it('keeps the frame counters in /healthz', () => {
      const h = server.health() as unknown as StreamHealth & Record<string, unknown>;
      assert.equal(h.transport, transport);
      assert.equal(h.viewers, 0);
      assert.equal(h.stream.forbidden, 1);
      assert.equal(h.stream.refused, 3);
      assert.equal(h.stream.bufferedBytes, 0);
    });
  });

  describe(`transport contract (${transport}): where the libraries differ (README "uWebSockets.js")`, () => {
    // What each transport does, exactly; the README says the same.
    const DIFFERS = {
      // ws answers an oversized message with a close frame; Node answers a slowloris client
      // 408 at --headers-timeout.
      ws: { bigMessageClose: 1009, slowlorisStatus: '408', slowlorisWithin: 3_000 },
      // uWS drops the connection unread, and cuts a slowloris client silently at its own ~10 s.
      uws: { bigMessageClose: 1006, slowlorisStatus: '', slowlorisWithin: 15_000 },
    } as const;
    const expected = DIFFERS[transport];
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ transport, size: 32, headersTimeout: 600 });
      await waitForFrame(server);
    });
    after(() => server.close());

    it(`closes a viewer that sends a big message with ${expected.bigMessageClose}`, async () => {
      const viewer = await connectViewer(server.url);
      const closed = new Promise<number>((r) => viewer.socket.once('close', (code) => r(code)));
      viewer.socket.send(Buffer.alloc(64 * 1024));
      assert.equal(await closed, expected.bigMessageClose);
      await untilViewers(server, 0);
    });

    it(`cuts a client that dribbles its headers (${expected.slowlorisStatus || 'no answer'}) within ${expected.slowlorisWithin} ms`, async () => {
      const started = Date.now();
      const response = await slowloris(server.port);
      assert.equal(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? '', expected.slowlorisStatus);
      assert.ok(Date.now() - started < expected.slowlorisWithin, `cut after ${Date.now() - started} ms`);
    });
  });

  describe(`transport contract (${transport}): slow viewers`, () => {
    it('have frames skipped with bounded buffers while a normal viewer gets every frame', async () => {
      const maxBufferedBytes = 2 << 20;
      // Noise does not compress: ~0.5 MB frames fill the paused sockets' kernel buffers fast.
      const noise = () => ({ data: Uint8Array.from({ length: 384 * 384 * 3 }, () => (Math.random() * 256) | 0), dims: [384, 384, 3] });
      const server = await startTestServer({ transport, size: 384, quality: 100, interval: 100, maxBufferedBytes, generate: noise });
      try {
        const frame = await waitForFrame(server);
        const published: number[] = [];
        server.store.subscribe((f) => published.push(f.slot));
        const paused = await Promise.all(Array.from({ length: 8 }, () => connectViewer(server.url)));
        for (const v of paused) (v.socket as unknown as { _socket: { pause(): void } })._socket.pause();
        const normal = await connectViewer(server.url);
        const start = normal.frames.length;
        // Loopback kernel buffers swallow a few MB per socket before the server sees backpressure.
        for (let i = 0; i < 300 && streamHealth(server).skipped === 0; i++) await sleep(100);
        await normal.until(normal.frames.length + 10, 20_000);
        const slots = normal.frames.slice(start + 1).map((f) => f.slot);
        const window = published.filter((s) => s >= slots[0]! && s <= slots.at(-1)!);
        assert.equal(slots.join(' '), window.join(' '), 'the normal viewer got every frame, in order');
        const h = streamHealth(server);
        assert.ok(h.skipped > 0, 'frames were skipped for paused viewers');
        // Each paused viewer holds at most the cap plus the one frame that crossed it.
        const bound = paused.length * (maxBufferedBytes + frame.bytes.length * 2);
        assert.ok(h.bufferedBytes <= bound, `${h.bufferedBytes} bytes buffered > ${bound}`);
        // Still bounded a second later: skipped frames never queue.
        const skippedBefore = h.skipped;
        await sleep(1000);
        const later = streamHealth(server);
        assert.ok(later.bufferedBytes <= bound, `${later.bufferedBytes} bytes buffered > ${bound}`);
        assert.ok(later.skipped > skippedBefore, 'paused viewers keep being skipped');
        for (const v of [...paused, normal]) v.socket.terminate();
      } finally {
        await server.close();
      }
    });
  });

  describe(`transport contract (${transport}): shutdown`, () => {
    it('closes viewers with 1001, resolves close once, and stops listening', async () => {
      const server = await startTestServer({ transport, size: 32 });
      await waitForFrame(server);
      const viewers = await Promise.all([1, 2].map(() => connectViewer(server.url)));
      await untilViewers(server, 2);
      const codes = viewers.map((v) => new Promise<number>((r) => v.socket.once('close', (code) => r(code))));
      const first = server.close();
      assert.equal(server.close(), first, 'close() is idempotent: the same promise');
      await first;
      assert.deepEqual(await Promise.all(codes), [1001, 1001]);
      await assert.rejects(connectViewer(server.url), /ECONNREFUSED/);
      await assert.rejects(fetch(`${server.url}/healthz`, { headers: { connection: 'close' } }), /fetch failed/);
    });
  });
}
