// A benchmark server in its own process, so that process.cpuUsage() and memoryUsage()
// are the server's alone. Driven over IPC by bench/fanout.mjs, memory.mjs, constant.mjs.
//
//   node bench/server-child.mjs ws|uws   tpdne (startTpdne) with a fixed-frame source: the
//                                        model never answers, the bench publishes frames
//                                        of chosen sizes into the store at a chosen rate,
//                                        so what is measured is the broadcast path
//   node bench/server-child.mjs net      the baseline: plain net sockets, a fixed 101
//                                        answer, then the same WebSocket frame bytes
//                                        written to every socket (skipped past the same
//                                        buffered limit)
//   node bench/server-child.mjs dream    tpdne with a real (tiny) model function that
//                                        counts its invocations
//   node bench/server-child.mjs http     the floor of Node's HTTP stack: a bare
//                                        http.createServer answering every request with
//                                        the current frame's bytes and two headers
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { serveRequests, sleep, percentile } from './lib.mjs';

const mode = process.argv[2];
const dist = new URL('../dist/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);
const INTERVAL = 250;
const MAX_BUFFERED = 1 << 20;
const log = () => {};

/** Whether this build's startTpdne knows the `transport` option (the uws branch adds it). */
async function transportSupported() {
  const { resolveServeOptions } = await load('server/options.js');
  try {
    resolveServeOptions({ transport: 'ws' });
    return true;
  } catch {
    return false;
  }
}

async function startNetBaseline() {
  const [{ encodeFrameHeader }, { binaryFrameHeader }] = await Promise.all([load('client/shared/protocol.js'), load('server/stream/wire.js')]);
  const sockets = new Set();
  let skipped = 0;
  const server = createServer(function onSocket(socket) {
    let head = '';
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', function onHandshake(chunk) {
      if (sockets.has(socket)) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      // The client checks the status only: a fixed answer keeps the baseline minimal.
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      sockets.add(socket);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    viewers: () => sockets.size,
    skipped: () => skipped,
    publish(frame) {
      const header = encodeFrameHeader({ slot: frame.slot, timestamp: frame.createdAt, width: 512, height: 512, interval: INTERVAL, format: 'webp' });
      const length = header.length + frame.bytes.length;
      const wire = Buffer.concat([binaryFrameHeader(length), header, frame.bytes]);
      for (const socket of sockets) {
        if (socket.writableLength > MAX_BUFFERED) skipped++;
        else socket.write(wire);
      }
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

async function startHttpFloor() {
  let bytes = Buffer.alloc(0);
  const server = createHttpServer(function bare(req, res) {
    res.writeHead(200, { 'Content-Type': 'image/webp', 'Content-Length': bytes.length });
    res.end(bytes);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    viewers: () => 0,
    skipped: () => 0,
    publish(frame) {
      bytes = frame.bytes;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

async function startService() {
  const [{ startTpdne }, { createFrame }] = await Promise.all([load('server/service.js'), load('server/frames/frame.js')]);
  const supported = await transportSupported();
  if (mode === 'uws' && !supported) return { unsupported: true };
  let invocations = 0;
  const held = new Set();
  // dream: a 32x32 tanh "model" (the size of the omori sprites), encoded at 256 px.
  const data = new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i));
  const generate =
    mode === 'dream'
      ? function countingModel() {
          invocations++;
          return { data, dims: [1, 3, 32, 32] };
        }
      : function neverAnswers() {
          // The bench publishes the frames itself; the dreamer waits here until close.
          return new Promise((resolve) => held.add(resolve));
        };
  const tpdne = await startTpdne({
    port: 0,
    generate,
    interval: INTERVAL,
    size: 256,
    modelTimeout: 600_000,
    heartbeat: 3_600_000,
    maxViewers: 1_000_000,
    maxViewersPerIp: 1_000_000,
    maxBufferedBytes: MAX_BUFFERED,
    log,
    ...(supported ? { transport: mode === 'dream' ? 'ws' : mode } : {}),
  });
  return {
    port: tpdne.port,
    transport: supported,
    viewers: () => tpdne.health().viewers,
    skipped: () => tpdne.health().stream.skipped,
    invocations: () => invocations,
    health: () => tpdne.health(),
    publish(frame) {
      tpdne.store.publish(createFrame(frame));
    },
    close() {
      const closed = tpdne.close();
      for (const resolve of held) resolve({ data, dims: [1, 3, 32, 32] });
      return closed;
    },
  };
}

const server = mode === 'net' ? await startNetBaseline() : mode === 'http' ? await startHttpFloor() : await startService();
const payloads = new Map();
// Ahead of the real clock, so a frame of the dreamer's could never replace the bench's.
let nextSlot = Math.floor(Date.now() / INTERVAL) + 1_000_000;

serveRequests({
  /** Publishes `count` frames of `frameBytes`, one every 1000/fps ms, and measures the server's CPU over them. */
  async publish({ frameBytes, fps, count, firstSlot: from, fixedBytes }) {
    nextSlot = Math.max(nextSlot, from ?? 0);
    if (fixedBytes) {
      const fixed = Buffer.from(fixedBytes, 'base64');
      payloads.set(frameBytes, [fixed, fixed]);
    }
    if (!payloads.has(frameBytes)) payloads.set(frameBytes, [randomBytes(frameBytes), randomBytes(frameBytes)]);
    const [a, b] = payloads.get(frameBytes);
    const period = 1000 / fps;
    const lag = monitorEventLoopDelay({ resolution: 5 });
    const skippedBefore = server.skipped();
    const broadcast = [];
    const firstSlot = nextSlot;
    lag.enable();
    const rss0 = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = t0 + i * period - performance.now();
      if (wait > 0) await sleep(wait);
      const slot = nextSlot++;
      const bytes = slot % 2 ? a : b;
      const at = performance.timeOrigin + performance.now();
      const s0 = performance.now();
      server.publish({ slot, createdAt: at, width: 512, height: 512, format: 'webp', bytes });
      broadcast.push(performance.now() - s0);
    }
    const seconds = (performance.now() - t0) / 1000;
    // Writes the kernel did not take at once finish on the event loop: count their CPU too.
    await sleep(period);
    const cpu = process.cpuUsage(cpu0);
    lag.disable();
    broadcast.sort((x, y) => x - y);
    return {
      frames: count,
      // Below fps when broadcasting a frame takes longer than its period.
      fpsAchieved: count > 1 ? (count - 1) / seconds : fps,
      firstSlot,
      lastSlot: nextSlot - 1,
      viewers: server.viewers(),
      cpuMs: (cpu.user + cpu.system) / 1000,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      broadcastP50: percentile(broadcast, 50),
      broadcastP99: percentile(broadcast, 99),
      skipped: server.skipped() - skippedBefore,
      lagP99: lag.percentile(99) / 1e6,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
      rssGrowthMiB: (process.memoryUsage().rss - rss0) / 2 ** 20,
    };
  },
  async mem() {
    for (let i = 0; i < 3; i++) {
      globalThis.gc?.();
      await sleep(50);
    }
    const m = process.memoryUsage();
    return { viewers: server.viewers(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
  },
  async invocations() {
    return { invocations: server.invocations?.() ?? 0, published: server.health?.().frames.published ?? 0, viewers: server.viewers() };
  },
  async stop() {
    await server.close?.();
    setImmediate(() => process.exit(0));
    return {};
  },
});
process.send({ type: 'start:done', port: server.port ?? null, unsupported: server.unsupported ?? false, transport: server.transport ?? null });
