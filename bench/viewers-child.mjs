// The load generator: many stream viewers in one process, as raw TCP sockets that do the
// WebSocket handshake and then only find frame boundaries (RFC 6455 5.2) and read the
// slot and publish time of each message from its 32-byte header. Reads go into one
// shared buffer (net's `onread`), so 10,000 viewers cost the client almost nothing but
// the kernel's copies.
//
//   node bench/viewers-child.mjs <port>      then, over IPC:
//   connect {count, localAddress}            opens `count` more viewers (256 handshakes at a time)
//   report {firstSlot, lastSlot}             what each viewer received of those slots
//   close                                    ends every viewer
import { connect } from 'node:net';
import { serveRequests, percentile } from './lib.mjs';

const port = Number(process.argv[2]);
const HANDSHAKE =
  'GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
const MAX_SAMPLES = 4_000_000;
const CONNECT_PARALLEL = 256;
const CONNECT_TIMEOUT_MS = 60_000;

const shared = Buffer.alloc(256 * 1024);
const viewers = new Set();
// Delivery skew of each message, publish (the header's timestamp) to its last byte read.
const skews = new Float64Array(MAX_SAMPLES);
let samples = 0;
let firstSlot = -1;
let lastSlot = -1;
let received = 0;
let messages = 0;

/** One viewer's parser state: 0 = WebSocket header, 1 = the first 32 payload bytes, 2 = the rest. */
function createViewer() {
  return { socket: null, open: false, handshake: '', phase: 0, hdr: Buffer.alloc(14), hlen: 0, hneed: 2, remaining: 0, prefix: Buffer.alloc(32), plen: 0, binary: false };
}

function finishMessage(v) {
  messages++;
  if (!v.binary || v.plen < 32) return;
  const slot = v.prefix.readDoubleLE(16);
  if (slot < firstSlot || slot > lastSlot) return;
  received++;
  if (samples < MAX_SAMPLES) skews[samples++] = performance.timeOrigin + performance.now() - v.prefix.readDoubleLE(24);
}

function feed(v, buf, start, end) {
  let i = start;
  while (i < end) {
    if (v.phase === 0) {
      v.hdr[v.hlen++] = buf[i++];
      if (v.hlen === 2) {
        const len7 = v.hdr[1] & 0x7f;
        v.hneed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (v.hdr[1] & 0x80 ? 4 : 0);
      }
      if (v.hlen < 2 || v.hlen < v.hneed) continue;
      const len7 = v.hdr[1] & 0x7f;
      v.remaining = len7 === 126 ? v.hdr.readUInt16BE(2) : len7 === 127 ? Number(v.hdr.readBigUInt64BE(2)) : len7;
      v.binary = (v.hdr[0] & 0x0f) === 2;
      v.hlen = 0;
      v.plen = 0;
      if (v.remaining === 0) finishMessage(v);
      else v.phase = v.binary ? 1 : 2;
    } else if (v.phase === 1) {
      const take = Math.min(32 - v.plen, end - i, v.remaining);
      buf.copy(v.prefix, v.plen, i, i + take);
      v.plen += take;
      v.remaining -= take;
      i += take;
      if (v.remaining === 0) (v.phase = 0), finishMessage(v);
      else if (v.plen === 32) v.phase = 2;
    } else {
      const take = Math.min(v.remaining, end - i);
      v.remaining -= take;
      i += take;
      if (v.remaining === 0) (v.phase = 0), finishMessage(v);
    }
  }
}

function open(localAddress) {
  return new Promise(function handshake(resolve) {
    const v = createViewer();
    let settled = false;
    const done = (ok) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => (v.socket.destroy(), done(false)), CONNECT_TIMEOUT_MS);
    v.socket = connect({
      host: '127.0.0.1',
      port,
      localAddress,
      onread: {
        buffer: shared,
        callback(n, buf) {
          if (v.open) return feed(v, buf, 0, n);
          v.handshake += buf.latin1Slice(0, n);
          const end = v.handshake.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (!v.handshake.startsWith('HTTP/1.1 101')) {
            v.socket.destroy();
            return done(false);
          }
          v.open = true;
          viewers.add(v);
          // What came after the handshake is the start of the first message.
          const rest = Buffer.from(v.handshake.slice(end + 4), 'latin1');
          v.handshake = '';
          feed(v, rest, 0, rest.length);
          done(true);
        },
      },
    });
    v.socket.setNoDelay(true);
    v.socket.on('connect', () => v.socket.write(HANDSHAKE));
    v.socket.on('error', () => done(false));
    v.socket.on('close', () => {
      viewers.delete(v);
      done(false);
    });
  });
}

serveRequests({
  async connect({ count, localAddress }) {
    const t0 = performance.now();
    let ok = 0;
    let failed = 0;
    let next = 0;
    async function lane() {
      while (next < count) {
        next++;
        if (await open(localAddress)) ok++;
        else failed++;
      }
    }
    await Promise.all(Array.from({ length: Math.min(CONNECT_PARALLEL, count) }, lane));
    return { ok, failed, open: viewers.size, seconds: (performance.now() - t0) / 1000 };
  },
  /** Starts counting the messages of slots first..last (call before they are published). */
  async expect(range) {
    firstSlot = range.firstSlot;
    lastSlot = range.lastSlot;
    samples = 0;
    received = 0;
    messages = 0;
    return {};
  },
  async report() {
    const sorted = skews.slice(0, samples).sort();
    return { open: viewers.size, received, messages, samples, skewP50: percentile(sorted, 50), skewP99: percentile(sorted, 99), skewMax: sorted.at(-1) ?? NaN };
  },
  async close() {
    for (const v of viewers) v.socket.destroy();
    viewers.clear();
    return {};
  },
  async stop() {
    for (const v of viewers) v.socket.destroy();
    setImmediate(() => process.exit(0));
    return {};
  },
});
process.send({ type: 'start:done' });
