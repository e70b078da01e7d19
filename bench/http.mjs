#!/usr/bin/env node
// Benchmark: GET /image.webp under wrk (64 connections, keep-alive, one wrk thread),
// against nginx (worker_processes 1, sendfile) serving the same bytes as a static file,
// measured in the same run, alternating rounds. tpdne runs in its own process with a
// fixed-frame source that publishes a new frame (same bytes, new slot) every 250 ms, so
// the per-frame work is part of what is measured. Ratio: tpdne requests/s / nginx's.
//
// Rounds alternate nginx, tpdne; the ratio is each round's, and the figure the median
// round's (this machine is shared: a neighbour's build bends single rounds). A third
// server, a bare node:http handler sending the same bytes, shows the floor of Node's
// HTTP stack: what no handler code could beat.
// HTTP_SECONDS=4 per round, HTTP_ROUNDS=3, HTTP_FRAME_BYTES=18432 (the built-in model's
// 512 px WebP is about 18 KB); --quick: 3 s, 1 round.
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QUICK, round, printTable, writeResult, startChild } from './lib.mjs';

const run = promisify(execFile);
const dist = new URL('../dist/', import.meta.url);
const { wrapSiteConfig, startNginx, freePort } = await import(new URL('test/helpers/nginx.js', dist).href);
const SECONDS = Number(process.env.HTTP_SECONDS ?? (QUICK ? 3 : 4));
const ROUNDS = Number(process.env.HTTP_ROUNDS ?? (QUICK ? 1 : 3));
const FRAME_BYTES = Number(process.env.HTTP_FRAME_BYTES ?? 18 * 1024);
const CONNECTIONS = 64;

/** wrk's requests/s and latency percentiles (ms) from its --latency report. */
function parseWrk(text) {
  const ms = (value, unit) => Number(value) * { us: 0.001, ms: 1, s: 1000 }[unit];
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(text);
    return m ? ms(m[1], m[2]) : NaN;
  };
  const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? '0';
  return { rps, p50: pct(50), p99: pct(99), non2xx: Number(errors) };
}

async function wrk(url) {
  const { stdout } = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url], { timeout: (SECONDS + 30) * 1000 });
  return parseWrk(stdout);
}

const prefix = mkdtempSync(join(tmpdir(), 'tpdne-bench-nginx-'));
const server = startChild('server-child.mjs', ['ws']);
const floor = startChild('server-child.mjs', ['http']);
let nginx = null;
const results = { connections: CONNECTIONS, seconds: SECONDS, rounds: [], frameBytes: FRAME_BYTES };
try {
  const info = await server.started(60_000);
  const floorInfo = await floor.started(60_000);
  const bytes = randomBytes(FRAME_BYTES);
  const root = join(prefix, 'root');
  mkdirSync(root);
  writeFileSync(join(root, 'image.webp'), bytes);
  const port = await freePort();
  const site = [
    'sendfile on;',
    'tcp_nopush on;',
    'keepalive_requests 1000000;',
    'types { image/webp webp; }',
    `server { listen 127.0.0.1:${port}; root ${root}; location = /image.webp { add_header Cache-Control "public, max-age=0"; } }`,
  ].join('\n');
  nginx = await startNginx(prefix, wrapSiteConfig(prefix, site), port);
  // A new frame every 250 ms for the whole run, same bytes, as the dreamer would publish them.
  const frames = Math.ceil(((SECONDS + 1) * 2 * ROUNDS + 4) * 4);
  const publish = { type: 'publish', frameBytes: FRAME_BYTES, fps: 4, count: frames, fixedBytes: bytes.toString('base64') };
  const publishing = Promise.all([server.request(publish, 600_000), floor.request(publish, 600_000)]);
  await new Promise((r) => setTimeout(r, 500));
  const tpdneUrl = `http://127.0.0.1:${info.port}/image.webp`;
  const nginxUrl = `http://127.0.0.1:${port}/image.webp`;
  const floorUrl = `http://127.0.0.1:${floorInfo.port}/image.webp`;
  // Warm-up, all three (JIT, file cache).
  for (const url of [tpdneUrl, nginxUrl, floorUrl]) await run('wrk', ['-t1', '-c8', '-d1s', url]);
  for (let i = 0; i < ROUNDS; i++) {
    const n = await wrk(nginxUrl);
    const t = await wrk(tpdneUrl);
    const f = await wrk(floorUrl);
    results.rounds.push({ nginx: n, tpdne: t, floor: f });
    console.log(`  round ${i + 1}: nginx ${round(n.rps, 0)} req/s, tpdne ${round(t.rps, 0)} req/s (${round(t.rps / n.rps)}×), bare node:http ${round(f.rps, 0)} req/s (${round(f.rps / n.rps)}×)`);
  }
  await publishing;
} finally {
  await Promise.allSettled([server.stop(), floor.stop(), nginx?.stop()]);
  rmSync(prefix, { recursive: true, force: true });
}
// The median round by ratio, all its figures from that round.
const ranked = results.rounds.map((r) => ({ ...r, ratio: r.tpdne.rps / r.nginx.rps })).sort((a, b) => a.ratio - b.ratio);
const mid = ranked[Math.floor(ranked.length / 2)];
results.nginx = mid.nginx;
results.tpdne = { ...mid.tpdne, non2xx: results.rounds.reduce((s, r) => s + r.tpdne.non2xx, 0) };
results.floor = mid.floor;
results.floorRatio = round(mid.floor.rps / mid.nginx.rps);
results.ratio = round(mid.ratio);
results.ratios = ranked.map((r) => round(r.ratio));
printTable(`GET /image.webp, ${FRAME_BYTES} bytes, wrk -t1 -c${CONNECTIONS}, median of ${ROUNDS} rounds × ${SECONDS} s (ratio: requests/s / nginx's; all rounds ${results.ratios.join(', ')})`, [
  ['server', 'req/s', 'ratio', 'p50 ms', 'p99 ms'],
  ['nginx', round(results.nginx.rps, 0), 'base', round(results.nginx.p50), round(results.nginx.p99)],
  ['tpdne', round(results.tpdne.rps, 0), results.ratio, round(results.tpdne.p50), round(results.tpdne.p99)],
  ['bare node:http', round(results.floor.rps, 0), results.floorRatio, round(results.floor.p50), round(results.floor.p99)],
]);
if (results.tpdne.non2xx) console.log(`http: ${results.tpdne.non2xx} tpdne responses were not 2xx/3xx`);
writeResult('http', results);
