#!/usr/bin/env node
// Benchmark: one frame to N viewers. For each transport (tpdne's ws stream; uws once
// startTpdne has the option) and the baseline (plain net sockets writing the same
// WebSocket frame bytes), N viewers in a separate load-generator process receive frames
// of 64 KB and 128 KB at 4 fps. Per row: the server's CPU ms per frame
// (process.cpuUsage of the server process, all its threads), delivery skew
// publish -> last byte read p50/p99, frames skipped, how long the broadcast loop held the
// event loop, the frame rate achieved (below 4 when a broadcast outlasts 250 ms); and the ratio of
// CPU per frame to the baseline's at the same N and size.
//
// FANOUT_VIEWERS=1000,5000,10000  FANOUT_SECONDS=8  FANOUT_SIZES=65536,131072; --quick: 1000,5000 and 4 s.
import { sleep, round, QUICK, printTable, writeResult, startChild } from './lib.mjs';

const list = (value, fallback) => (value ? value.split(',').map(Number) : fallback);
const VIEWERS = list(process.env.FANOUT_VIEWERS, QUICK ? [1000, 5000] : [1000, 5000, 10000]);
const SIZES = list(process.env.FANOUT_SIZES, [64 * 1024, 128 * 1024]);
const SECONDS = Number(process.env.FANOUT_SECONDS ?? (QUICK ? 4 : 8));
const TRANSPORTS = (process.env.FANOUT_TRANSPORTS ?? 'ws,uws').split(',');
const FPS = 4;
const FRAMES = Math.max(4, Math.round(SECONDS * FPS));
let slotBase = Math.floor(Date.now() / 250) + 1_000_000;
// Each server gets fresh source addresses, so TIME_WAIT of an earlier run never runs the
// ephemeral ports out (127.0.0.0/8 is all loopback).
let addressIndex = 1;

async function measureServer(mode) {
  const server = startChild('server-child.mjs', [mode]);
  const rows = [];
  try {
    const info = await server.started(60_000);
    if (info.unsupported) return { unsupported: true, rows };
    const viewers = startChild('viewers-child.mjs', [String(info.port)]);
    try {
      await viewers.started(30_000);
      let connected = 0;
      for (const n of VIEWERS) {
        const added = await viewers.request({ type: 'connect', count: n - connected, localAddress: `127.0.${Math.floor(addressIndex / 250)}.${(addressIndex % 250) + 2}` }, 300_000);
        addressIndex++;
        connected = added.open;
        if (added.failed) console.log(`  ${mode}: ${added.failed} of ${n} viewers failed to connect`);
        await sleep(500);
        for (const size of SIZES) {
          const firstSlot = (slotBase += FRAMES + 10);
          await viewers.request({ type: 'expect', firstSlot, lastSlot: firstSlot + FRAMES - 1 });
          // Two frames first, not counted: sockets and JIT warm up.
          await server.request({ type: 'publish', frameBytes: size, fps: FPS, count: 2, firstSlot: firstSlot - 5 });
          const ran = await server.request({ type: 'publish', frameBytes: size, fps: FPS, count: FRAMES, firstSlot }, 600_000);
          await sleep(1000);
          const got = await viewers.request({ type: 'report' });
          const expected = FRAMES * connected;
          rows.push({
            mode,
            viewers: connected,
            frameKB: size / 1024,
            cpuMsPerFrame: round(ran.cpuMs / FRAMES),
            skewP50: round(got.skewP50, 1),
            skewP99: round(got.skewP99, 1),
            skewMax: round(got.skewMax, 1),
            delivered: got.received,
            expected,
            skippedShare: round((expected - got.received) / expected, 4),
            serverSkipped: ran.skipped,
            broadcastP50: round(ran.broadcastP50, 1),
            broadcastP99: round(ran.broadcastP99, 1),
            fps: round(ran.fpsAchieved, 2),
          });
          console.log(`  ${mode} ${connected} viewers ${size / 1024} KB: ${rows.at(-1).cpuMsPerFrame} ms CPU/frame, skew p99 ${rows.at(-1).skewP99} ms, ${rows.at(-1).skippedShare * 100}% skipped`);
        }
      }
    } finally {
      await viewers.stop();
    }
  } finally {
    await server.stop();
  }
  return { unsupported: false, rows };
}

const results = { fps: FPS, frames: FRAMES, seconds: SECONDS, rows: [], skipped: [] };
const baseline = await measureServer('net');
results.rows.push(...baseline.rows);
for (const transport of TRANSPORTS) {
  const measured = await measureServer(transport);
  if (measured.unsupported) {
    console.log(`fanout: ${transport} rows skipped: this build's startTpdne has no 'transport' option yet`);
    results.skipped.push(transport);
    continue;
  }
  for (const row of measured.rows) {
    const base = baseline.rows.find((b) => b.viewers === row.viewers && b.frameKB === row.frameKB);
    row.cpuRatio = base ? round(row.cpuMsPerFrame / base.cpuMsPerFrame) : null;
  }
  results.rows.push(...measured.rows);
}

printTable(`Fan-out, ${FPS} fps, ${FRAMES} frames per row (ratio: server CPU per frame / raw net sockets at the same N and size)`, [
  ['server', 'viewers', 'KB', 'CPU ms/frame', 'ratio', 'skew p50', 'p99', 'max', 'skipped', 'broadcast p99', 'fps'],
  ...results.rows.map((r) => [r.mode, r.viewers, r.frameKB, r.cpuMsPerFrame, r.cpuRatio ?? 'base', r.skewP50, r.skewP99, r.skewMax, `${round(r.skippedShare * 100, 1)}%`, r.broadcastP99, r.fps]),
]);
writeResult('fanout', results);
