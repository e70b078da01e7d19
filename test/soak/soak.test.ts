import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import WebSocket from 'ws';
import { startCli } from '../helpers/cli.js';

/**
 * Soak: a real server process under 500 churning viewers. SOAK_SECONDS sets the length:
 * 60 in `npm test`, 600 in `npm run soak`. RSS and open descriptors of the server
 * process must stay flat (within 15% of their level once warmed up).
 */
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const VIEWERS = Number(process.env.SOAK_VIEWERS ?? 500);

function processStats(pid: number): { rss: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  return { rss, fds: readdirSync(`/proc/${pid}/fd`).length };
}

describe(`soak: ${SECONDS} s with ${VIEWERS} churning viewers`, () => {
  it('keeps RSS and file descriptors flat and dreams every slot the model can make', { timeout: (SECONDS + 120) * 1000 }, async () => {
    const cli = startCli(['serve', '--port', '0', '--size', '256', '--max-viewers-per-ip', String(VIEWERS * 2), '--heartbeat', '5000']);
    try {
      const log = await cli.waitFor(/dreaming with .* at (http:\/\/\S+)/);
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
      while (Date.now() - started < SECONDS * 1000) {
        await new Promise((r) => setTimeout(r, 1000));
        samples.push({ t: (Date.now() - started) / 1000, ...processStats(pid) });
      }
      const endHealth = (await (await fetch(healthUrl)).json()) as {
        frames: { published: number; missed: number; late: number };
        fps: number;
        timings: { inference: number; encode: number };
      };
      stopping = true;
      for (const ws of sockets) ws.terminate();

      // Warmed up after a third of the run; from there on, flat: the level at the end
      // (median of the last 10 s) against the level once warm (median of 10 s after warm-up).
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const settled = samples.filter((s) => s.t >= SECONDS / 3);
      const base = { rss: median(settled.slice(0, 10).map((s) => s.rss)), fds: median(settled.slice(0, 10).map((s) => s.fds)) };
      const end = { rss: median(samples.slice(-10).map((s) => s.rss)), fds: median(samples.slice(-10).map((s) => s.fds)) };
      const peakRss = end.rss;
      const peakFds = end.fds;
      const report = `rss ${(base.rss / 2 ** 20).toFixed(0)} -> ${(peakRss / 2 ** 20).toFixed(0)} MiB (max ${(Math.max(...samples.map((s) => s.rss)) / 2 ** 20).toFixed(0)}), fds ${base.fds} -> ${peakFds}, ` +
        `${connects} connects, ${refused} refused, ${received} frames received, ${endHealth.fps} fps, missed ${endHealth.frames.missed - startHealth.frames.missed}`;
      process.stdout.write(`# soak: ${report}\n`);
      assert.ok(peakRss <= base.rss * 1.15, `RSS grew: ${report}`);
      assert.ok(peakFds <= base.fds * 1.15, `fds grew: ${report}`);
      assert.equal(refused, 0, report);
      // Slots skipped only when making a frame took longer than the interval.
      const slow = endHealth.timings.inference + endHealth.timings.encode > 250;
      const published = endHealth.frames.published - startHealth.frames.published;
      if (!slow) assert.ok(published >= SECONDS * 4 * 0.9, `published ${published} in ${SECONDS} s: ${report}`);
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });
});
