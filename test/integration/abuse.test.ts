import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startTestServer, connectViewer, waitForFrame, type TestServer } from '../helpers/server.js';
import { rawRequest, rawWebSocket, clientFrame, slowloris } from '../helpers/raw.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

describe('hostile clients: no crash, no 5xx, no leak', () => {
  let server: TestServer;
  let port: number;
  before(async () => {
    server = await startTestServer({ size: 32, maxViewers: 6, maxViewersPerIp: 4, headersTimeout: 600, heartbeat: 200 });
    port = server.port;
    await waitForFrame(server);
  });
  after(() => server.close());

  it('closes a viewer that sends data with 1008', async () => {
    const viewer = await connectViewer(server.url);
    const closed = new Promise<number>((r) => viewer.socket.once('close', (code) => r(code)));
    viewer.socket.send('hello');
    assert.equal(await closed, 1008);
  });

  it('closes a viewer that sends a big message with 1009, before reading it all', async () => {
    const viewer = await connectViewer(server.url);
    const closed = new Promise<number>((r) => viewer.socket.once('close', (code) => r(code)));
    viewer.socket.send(Buffer.alloc(64 * 1024));
    assert.equal(await closed, 1009);
  });

  it('refuses viewers past the per-address cap, then the global cap, with 503', async () => {
    const viewers = await Promise.all([1, 2, 3, 4].map(() => connectViewer(server.url)));
    await assert.rejects(connectViewer(server.url), /Upgrade refused with 503/);
    // Another address (127.0.0.2 is loopback too) may still connect, up to the global cap of 6.
    const other = await Promise.all([1, 2].map(() => connectVia('127.0.0.2', port)));
    await assert.rejects(connectVia('127.0.0.3', port), /503/);
    await Promise.all([...viewers.map((v) => v.close()), ...other.map((ws) => closeWs(ws))]);
    await sleep(100);
    assert.equal(server.health().viewers, 0);
    const again = await connectViewer(server.url);
    await again.close();
  });

  it('drops a half-open viewer that never answers pings', async () => {
    const { socket, response } = await rawWebSocket(port);
    assert.equal(statusOf(response), 101);
    socket.pause(); // never reads, never pongs
    await sleep(100);
    assert.equal(server.health().viewers, 1);
    const ended = new Promise<void>((r) => socket.once('close', () => r()));
    socket.resume();
    socket.on('data', () => {}); // read frames but never answer a ping
    await ended;
    for (let i = 0; i < 50 && (server.health().viewers as number) > 0; i++) await sleep(10);
    assert.equal(server.health().viewers, 0);
  });

  it('times out slowloris clients that dribble their headers (408, socket closed)', async () => {
    const started = Date.now();
    const response = await slowloris(port);
    assert.match(response, /^HTTP\/1\.1 408/);
    assert.ok(Date.now() - started < 3000, `cut after ${Date.now() - started} ms`);
  });

  it('answers oversized headers with 431', async () => {
    const response = await rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(statusOf(response), 431);
  });

  const requests: [string, string, number][] = [
    ['path traversal', 'GET /../../../../etc/passwd HTTP/1.1', 404],
    ['encoded traversal', 'GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1', 404],
    ['traversal into the package', 'GET /assets/../../package.json HTTP/1.1', 404],
    ['a directory', 'GET /assets/ HTTP/1.1', 404],
    ['a dotfile', 'GET /.env HTTP/1.1', 404],
    ['a slot that is a word', 'GET /frames/abc.webp HTTP/1.1', 400],
    ['a negative slot', 'GET /frames/-1.webp HTTP/1.1', 400],
    ['an exponent slot', 'GET /frames/1e5.webp HTTP/1.1', 400],
    ['a 20-digit slot', 'GET /frames/99999999999999999999.webp HTTP/1.1', 400],
    ['a double extension', 'GET /frames/1.webp.exe HTTP/1.1', 400],
    ['a slot never made', 'GET /frames/12.webp HTTP/1.1', 404],
    ['POST', 'POST / HTTP/1.1', 405],
    ['PUT', 'PUT /image.webp HTTP/1.1', 405],
    ['DELETE', 'DELETE /frames/1.webp HTTP/1.1', 405],
    ['OPTIONS *', 'OPTIONS * HTTP/1.1', 405],
    ['an absolute URL', 'GET http://evil.example/healthz HTTP/1.1', 200],
    ['a garbage URL', 'GET %%%/x HTTP/1.1', 400],
  ];
  for (const [name, line, status] of requests) {
    it(`answers ${name} with ${status} and no stack trace`, async () => {
      const response = await rawRequest(port, `${line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.equal(statusOf(response), status, response.slice(0, 200));
      assert.doesNotMatch(response, /at \w+ \(|node:internal|\/work\//);
      assert.match(response, /X-Content-Type-Options: nosniff/i);
      if (status === 405) assert.match(response, /Allow: GET, HEAD/);
    });
  }

  it('is still healthy afterwards, with no viewer left', async () => {
    await sleep(300);
    const h = server.health();
    assert.equal(h.status, 'ok');
    assert.equal(h.viewers, 0);
  });
});

describe('slow viewers', () => {
  it('have frames skipped with bounded buffers while a normal viewer gets every frame', async () => {
    const maxBufferedBytes = 2 << 20;
    // Noise does not compress: ~0.5 MB frames fill the paused sockets' kernel buffers fast.
    const noise = (): { data: Uint8Array; dims: number[] } => ({ data: Uint8Array.from({ length: 384 * 384 * 3 }, () => (Math.random() * 256) | 0), dims: [384, 384, 3] });
    const server = await startTestServer({ size: 384, quality: 100, interval: 100, maxBufferedBytes, generate: noise });
    try {
      const frame = await waitForFrame(server);
      const published: number[] = [];
      server.store.subscribe((f) => published.push(f.slot));
      const paused = await Promise.all(Array.from({ length: 8 }, () => connectViewer(server.url)));
      for (const v of paused) (v.socket as unknown as { _socket: { pause(): void } })._socket.pause();
      const normal = await connectViewer(server.url);
      const start = normal.frames.length;
      type StreamHealth = { stream: { skipped: number; bufferedBytes: number } };
      // Loopback kernel buffers swallow a few MB per socket before the server sees backpressure.
      for (let i = 0; i < 300 && (server.health() as unknown as StreamHealth).stream.skipped === 0; i++) await sleep(100);
      await normal.until(normal.frames.length + 10, 20_000);
      // The normal viewer got every frame the server published meanwhile, in order.
      // (From its second frame: the first is whatever was current when it connected.)
      const slots = normal.frames.slice(start + 1).map((f) => f.slot);
      const window = published.filter((s) => s >= slots[0]! && s <= slots.at(-1)!);
      assert.deepEqual(slots.join(" "), window.join(" "));
      const h = server.health() as unknown as StreamHealth;
      assert.ok(h.stream.skipped > 0, 'frames were skipped for paused viewers');
      // Each paused viewer holds at most the cap plus the one frame that crossed it.
      const bound = paused.length * (maxBufferedBytes + frame.bytes.length * 2);
      assert.ok(h.stream.bufferedBytes <= bound, `${h.stream.bufferedBytes} bytes buffered > ${bound}`);
      await Promise.all([...paused, normal].map((v) => v.socket.terminate()));
    } finally {
      await server.close();
    }
  });
});


function connectVia(localAddress: string, port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/stream`, { localAddress });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`Upgrade refused with ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function closeWs(ws: WebSocket): Promise<void> {
  return new Promise((r) => {
    ws.once('close', () => r());
    ws.close();
  });
}

describe('viewer address behind a local proxy', () => {
  it('uses the last X-Forwarded-For entry only when the socket is from loopback', async () => {
    const { clientAddress } = await import('../../server/stream/ws-stream.js');
    const req = (remote: string, xff?: string) => ({ socket: { remoteAddress: remote }, headers: xff ? { 'x-forwarded-for': xff } : {} }) as never;
    assert.equal(clientAddress(req('127.0.0.1', '1.2.3.4, 5.6.7.8')), '5.6.7.8');
    assert.equal(clientAddress(req('::1', '9.9.9.9')), '9.9.9.9');
    assert.equal(clientAddress(req('::ffff:127.0.0.1', '2001:db8::1')), '2001:db8::1');
    assert.equal(clientAddress(req('127.0.0.1')), '127.0.0.1');
    assert.equal(clientAddress(req('203.0.113.7', '1.2.3.4')), '203.0.113.7', 'a remote client cannot pick its own address');
  });
});
