#!/usr/bin/env node
// Benchmark: what the Redis bus adds between a generator and a viewer, beside the
// in-process path measured in the same run (these machines are shared: read the ratio).
//
//   in-process: store.publish(frame) -> ws viewer of the same server
//   redis:      store.publish(frame) -> bus publisher -> redis-server -> edge -> ws viewer of the edge
//
// 128 KB frames of random bytes (incompressible, like WebP). Two measurements per path:
//   paced:      one frame every PACE_MS; latency publish -> viewer, p50/p95/p99/max
//   saturated:  up to 4 frames between publish and viewer (the publisher's own in-flight
//               limit); frames/s and MB/s delivered
// Prints a table and writes bench/results/redis.json. Needs `npm run build` and redis-server.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import WebSocket from 'ws';

const dist = new URL('../dist/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);
const [{ createFrameStore }, { createFrame }, { createWsStream }, { createBusPublisher }, { startBusEdge }, { decodeFrameMessage }, { startRedis }] =
  await Promise.all([
    load('server/frames/store.js'),
    load('server/frames/frame.js'),
    load('server/stream/ws-stream.js'),
    load('server/bus/publisher.js'),
    load('server/bus/edge.js'),
    load('client/shared/protocol.js'),
    load('test/helpers/redis.js'),
  ]);

const FRAME_BYTES = Number(process.env.FRAME_BYTES ?? 128 * 1024);
const INTERVAL = 250;
const PACE_MS = Number(process.env.PACE_MS ?? 50);
const PACED_FRAMES = Number(process.env.PACED_FRAMES ?? 200);
const SATURATE_MS = Number(process.env.SATURATE_MS ?? 4000);
const WINDOW = 4;
const log = () => {};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An HTTP server with the ws stream over `store`, and one viewer that reports each slot's arrival time. */
async function serveAndView(store) {
  const server = createServer((req, res) => res.end());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stream = createWsStream({ server, store, interval: INTERVAL, maxViewers: 10, maxBufferedBytes: 64 << 20, heartbeat: 60_000 });
  const socket = new WebSocket(`ws://127.0.0.1:${server.address().port}/stream`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
  const view = { onSlot: () => {} };
  socket.on('message', (data) => view.onSlot(decodeFrameMessage(new Uint8Array(data)).slot, performance.now(), data.length));
  view.close = async () => {
    socket.terminate();
    await stream.close();
    await new Promise((resolve) => server.close(resolve));
  };
  return view;
}

let nextSlot = 1_000_000;
const payloads = [randomBytes(FRAME_BYTES), randomBytes(FRAME_BYTES)];
function makeFrame() {
  const slot = nextSlot++;
  return createFrame({ slot, createdAt: Date.now(), width: 512, height: 512, format: 'webp', bytes: payloads[slot % 2] });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One frame every PACE_MS; latency from publish to the viewer's message event. */
async function paced(source, view) {
  const sentAt = new Map();
  const latencies = [];
  view.onSlot = (slot, at) => {
    const t0 = sentAt.get(slot);
    if (t0 !== undefined) latencies.push(at - t0);
  };
  for (let i = 0; i < PACED_FRAMES; i++) {
    const frame = makeFrame();
    sentAt.set(frame.slot, performance.now());
    source.publish(frame);
    await sleep(PACE_MS);
  }
  await sleep(200);
  latencies.sort((a, b) => a - b);
  return {
    frames: PACED_FRAMES,
    received: latencies.length,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.at(-1),
  };
}

/** As fast as the path delivers, with at most WINDOW frames between publish and viewer. */
async function saturated(source, view) {
  let outstanding = 0;
  let received = 0;
  let bytes = 0;
  let wake = () => {};
  view.onSlot = (slot, at, length) => {
    outstanding--;
    received++;
    bytes += length;
    wake();
  };
  const started = performance.now();
  const until = started + SATURATE_MS;
  while (performance.now() < until) {
    if (outstanding >= WINDOW) {
      // A frame can be dropped on the way (the publisher skips past its in-flight limit): don't wait for ever.
      const settled = await Promise.race([new Promise((resolve) => (wake = () => resolve(true))), sleep(1000).then(() => false)]);
      if (!settled) outstanding = 0;
      continue;
    }
    outstanding++;
    source.publish(makeFrame());
    if (outstanding < WINDOW) await new Promise(setImmediate);
  }
  const seconds = (performance.now() - started) / 1000;
  await sleep(200);
  return { seconds: Math.round(seconds * 100) / 100, received, fps: Math.round(received / seconds), mbps: Math.round((bytes / seconds / 1e6) * 10) / 10 };
}

async function main() {
  const redis = await startRedis();
  const results = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, frameBytes: FRAME_BYTES, paceMs: PACE_MS, window: WINDOW, paths: {} };
  try {
    // In-process: the generator's own store feeds its own viewers.
    const local = createFrameStore(16);
    const localView = await serveAndView(local);
    // Through Redis: generator store -> publisher -> Redis -> edge -> edge store -> viewer.
    const generatorStore = createFrameStore(16);
    const publisher = createBusPublisher({ url: redis.url, prefix: 'bench', store: generatorStore, interval: INTERVAL, meta: () => ({ model: 'bench', device: 'none', pixelated: false }), log });
    publisher.start();
    while (!publisher.stats().leader) await sleep(10);
    const edgeStore = createFrameStore(16);
    const edge = await startBusEdge({ url: redis.url, prefix: 'bench', store: edgeStore, interval: INTERVAL, format: 'webp', log });
    const edgeView = await serveAndView(edgeStore);
    try {
      // Warm both paths (JIT, socket buffers) before measuring.
      for (let i = 0; i < 20; i++) {
        local.publish(makeFrame());
        generatorStore.publish(makeFrame());
        await sleep(5);
      }
      await sleep(300);
      results.paths['in-process'] = { paced: await paced(local, localView), saturated: await saturated(local, localView) };
      results.paths.redis = { paced: await paced(generatorStore, edgeView), saturated: await saturated(generatorStore, edgeView) };
      results.publisher = publisher.stats();
      results.edge = edge.busStats();
    } finally {
      await Promise.allSettled([localView.close(), edgeView.close(), publisher.close(), edge.close()]);
    }
  } finally {
    await redis.close();
  }

  const a = results.paths['in-process'];
  const b = results.paths.redis;
  results.added = {
    p50: Math.round((b.paced.p50 - a.paced.p50) * 100) / 100,
    p99: Math.round((b.paced.p99 - a.paced.p99) * 100) / 100,
    fpsRatio: Math.round((b.saturated.fps / a.saturated.fps) * 100) / 100,
  };
  const ms = (n) => n.toFixed(2).padStart(8);
  const rows = [
    ['path', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'frames/s', 'MB/s'],
    ...Object.entries(results.paths).map(([name, r]) => [
      name,
      ms(r.paced.p50),
      ms(r.paced.p95),
      ms(r.paced.p99),
      ms(r.paced.max),
      String(r.saturated.fps).padStart(8),
      String(r.saturated.mbps).padStart(6),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => String(c).padStart(widths[i])).join('  ');
  console.log(`Redis bus, ${FRAME_BYTES / 1024} KB frames (latency: one frame every ${PACE_MS} ms; frames/s: ${WINDOW} in flight), ${results.cpus} CPUs`);
  console.log(line(rows[0]));
  for (const r of rows.slice(1)) console.log(line(r));
  console.log(`added by Redis: p50 ${results.added.p50} ms, p99 ${results.added.p99} ms; throughput ${results.added.fpsRatio}x of in-process`);
  console.log(`edge: ${results.edge.applied} applied, ${results.edge.stale} stale, ${results.edge.rejected} rejected; publisher: ${results.publisher.published} sent, ${results.publisher.failed} skipped`);

  const dir = fileURLToPath(new URL('results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}redis.json`, JSON.stringify(results, null, 2) + '\n');
  console.log(`wrote ${dir}redis.json`);
}

await main();
