import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import WebSocket from 'ws';
import { startCli } from '../helpers/cli.js';
import { attachInspector, type Inspector, type MemoryAfterGc } from '../helpers/inspector.js';

/**
 * Soak: a real server process under 500 churning viewers. SOAK_SECONDS sets the length:
 * 60 in `npm test`, 600 in `npm run soak`.
 *
 * A leak is judged on memory after a full GC of every isolate (the main thread and the
 * model's worker), read through the inspector of the server process. Bare RSS says
 * nothing about leaks in a minute: the worker frees onnxruntime's spent output buffers
 * only when it next collects, so RSS swings by tens of MiB (CI once saw 197 -> 243 MiB
 * in 40 s; here it swings 155-245 MiB while RSS after GC stays at 155). From a third of
 * the run on (the ring of recent frames, 10 s here, is full by then) the heap, the
 * memory outside it and the RSS after GC, and the open descriptors, must stay flat.
 */
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const VIEWERS = Number(process.env.SOAK_VIEWERS ?? 500);
const MiB = 2 ** 20;

function processStats(pid: number): { rss: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  return { rss, fds: readdirSync(`/proc/${pid}/fd`).length };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Three readings after a full GC, a second apart, each field their least: memory the
 * collector has just freed reaches the kernel a moment later, while a leak raises all three.
 */
async function settledMemory(inspector: Inspector): Promise<MemoryAfterGc> {
  const readings: MemoryAfterGc[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 1000));
    readings.push(await inspector.memoryAfterGc());
  }
  const least = (key: keyof MemoryAfterGc) => Math.min(...readings.map((m) => m[key]));
  return { rss: least('rss'), heapUsed: least('heapUsed'), external: least('external'), arrayBuffers: least('arrayBuffers'), isolates: least('isolates') };
}

describe(`soak: ${SECONDS} s with ${VIEWERS} churning viewers`, () => {
  it('keeps memory after GC and file descriptors flat and dreams every slot the model can make', { timeout: (SECONDS + 120) * 1000 }, async () => {
    const cli = startCli(
      ['serve', '--port', '0', '--size', '256', '--max-viewers-per-ip', String(VIEWERS * 2), '--heartbeat', '5000', '--frames-kept', '40'],
      ['--inspect=127.0.0.1:0'],
    );
    let inspector: Inspector | undefined;
    try {
      const log = await cli.waitFor(/dreaming with .* at (http:\/\/\S+)/);
      inspector = await attachInspector(log);
      const url = /at (http:\/\/\S+)/.exec(log)![1]!.replace(/^http/, 'ws') + '/stream';
      const pid = cli.child.pid!;
      let received = 0;
      let connects = 0;
      let refused = 0;
      let stopping = false;
      const sockets = new Set<WebSocket>();
      // Each viewer stays 1-6 s, leaves, and comes back: constant churn.
      function viewer(): void {
        if (stopping) return;
        const ws = new WebSocket(url, { perMessageDeflate: false });
        sockets.add(ws);
        connects++;
        ws.on('message', () => received++);
        ws.on('unexpected-response', () => refused++);
        ws.on('error', () => {});
        const stay = setTimeout(() => ws.terminate(), 1000 + Math.random() * 5000);
        ws.on('close', () => {
          clearTimeout(stay);
          sockets.delete(ws);
          setTimeout(viewer, Math.random() * 500);
        });
      }
      for (let i = 0; i < VIEWERS; i++) setTimeout(viewer, Math.random() * 2000);

      const samples: { t: number; rss: number; fds: number }[] = [];
      const started = Date.now();
      const healthUrl = url.replace(/^ws/, 'http').replace('/stream', '/healthz');
      const startHealth = (await (await fetch(healthUrl)).json()) as { frames: { published: number; missed: number } };
      let base: MemoryAfterGc | undefined;
      while (Date.now() - started < SECONDS * 1000) {
        await new Promise((r) => setTimeout(r, 1000));
        samples.push({ t: (Date.now() - started) / 1000, ...processStats(pid) });
        if (!base && Date.now() - started >= (SECONDS / 3) * 1000) base = await settledMemory(inspector);
      }
      const end = await settledMemory(inspector);
      const endHealth = (await (await fetch(healthUrl)).json()) as {
        frames: { published: number; missed: number; late: number };
        fps: number;
        timings: { inference: number; encode: number };
      };
      stopping = true;
      for (const ws of sockets) ws.terminate();

      // Descriptors: the level at the end (median of the last 10 s) against the level once
      // warm (median of the 10 s after a third of the run).
      const settled = samples.filter((s) => s.t >= SECONDS / 3);
      const baseFds = median(settled.slice(0, 10).map((s) => s.fds));
      const endFds = median(samples.slice(-10).map((s) => s.fds));
      const mib = (n: number) => (n / MiB).toFixed(1);
      const report =
        `after GC of ${end.isolates} isolates: heap ${mib(base!.heapUsed)} -> ${mib(end.heapUsed)} MiB, outside the heap ${mib(base!.external)} -> ${mib(end.external)} MiB, ` +
        `rss ${mib(base!.rss)} -> ${mib(end.rss)} MiB (rss without GC at most ${mib(Math.max(...samples.map((s) => s.rss)))}); fds ${baseFds} -> ${endFds}; ` +
        `${connects} connects, ${refused} refused, ${received} frames received, ${endHealth.fps} fps, missed ${endHealth.frames.missed - startHealth.frames.missed}`;
      process.stdout.write(`# soak: ${report}\n`);
      // Every connection that came and went (thousands) would have to leave almost nothing
      // behind to stay under these: a kept socket object is kilobytes.
      assert.ok(end.isolates >= 2 && base!.isolates >= 2, `the main thread and the model worker were both measured: ${report}`);
      assert.ok(end.heapUsed <= base!.heapUsed * 1.1 + MiB, `JS heap grew: ${report}`);
      // Buffers: frames are ~6 KB at 256 px, so a kept one per slot (160 slots) would add
      // more than this 1 MiB; the level after GC holds within 0.1 MiB here.
      assert.ok(end.external <= base!.external + MiB, `memory outside the heap (buffers) grew: ${report}`);
      assert.ok(end.rss <= base!.rss * 1.15, `RSS after GC grew: ${report}`);
      assert.ok(endFds <= baseFds * 1.15, `fds grew: ${report}`);
      assert.equal(refused, 0, report);
      // Slots skipped only when making a frame took longer than the interval.
      const slow = endHealth.timings.inference + endHealth.timings.encode > 250;
      const published = endHealth.frames.published - startHealth.frames.published;
      if (!slow) assert.ok(published >= SECONDS * 4 * 0.9, `published ${published} in ${SECONDS} s: ${report}`);
    } finally {
      inspector?.close();
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });
});
