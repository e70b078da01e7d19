// Shared by the benchmarks: child processes that always stop, percentiles, the table
// every benchmark prints, and the JSON it leaves in bench/results/.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

/** `--quick` on the command line or BENCH_QUICK=1: shorter windows, fewer sizes. */
export const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const round = (n, digits = 2) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : null);

/** What the figures were measured on: they only mean something next to this. */
export function machine() {
  return { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: round(totalmem() / 2 ** 30, 1) };
}

/** Prints rows (the first is the heading) as a right-aligned table. */
export function printTable(title, rows) {
  console.log(title);
  const text = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = text[0].map((_, i) => Math.max(...text.map((r) => r[i].length)));
  for (const r of text) console.log('  ' + r.map((c, i) => c.padStart(widths[i])).join('  '));
}

export function writeResult(name, result) {
  const dir = fileURLToPath(new URL('results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${name}.json`, JSON.stringify({ date: new Date().toISOString(), ...machine(), quick: QUICK, ...result }, null, 2) + '\n');
  console.log(`wrote bench/results/${name}.json`);
}

/**
 * A benchmark child process spoken to over IPC: `request(message)` resolves with the
 * child's next answer of type `${message.type}:done` (or rejects on `error`, exit or
 * timeout). `stop()` asks it to close, then kills it; safe to call twice.
 */
export function startChild(script, args = [], { execArgv = [], env = {} } = {}) {
  // BENCH_CPU_PROF=<dir>: the servers write a V8 CPU profile there (summarise it with
  // `node bench/profile-summary.mjs <file>`).
  const profile = process.env.BENCH_CPU_PROF && script.includes('server-child') ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = fork(script.startsWith('/') ? script : fileURLToPath(new URL(script, import.meta.url)), args, {
    execArgv: [...execArgv, ...profile],
    env: { ...process.env, MALLOC_ARENA_MAX: '2', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let stopping = null;
  function request(message, timeoutMs = 120_000) {
    return new Promise(function awaitAnswer(resolve, reject) {
      const timer = setTimeout(() => finish(new Error(`${script}: no answer to ${message.type} in ${timeoutMs} ms`)), timeoutMs);
      function onMessage(answer) {
        if (answer.type === `${message.type}:done`) finish(null, answer);
        else if (answer.type === 'error') finish(new Error(`${script}: ${answer.message}`));
      }
      function onExit(code) {
        finish(new Error(`${script} exited (${code}) before answering ${message.type}`));
      }
      function finish(err, answer) {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve(answer);
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (message.type !== 'start') child.send(message);
    });
  }
  return {
    child,
    request,
    /** Resolves with the child's first message (`start:done`). */
    started: (timeoutMs) => request({ type: 'start' }, timeoutMs),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        if (child.connected) child.send({ type: 'stop' });
        const killed = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killed);
      })();
      return stopping;
    },
  };
}

/** Runs `handler(message)` for each IPC request in a child and answers `${type}:done` with its result. */
export function serveRequests(handlers) {
  process.on('message', async function onRequest(message) {
    try {
      const result = await handlers[message.type](message);
      process.send({ type: `${message.type}:done`, ...result });
    } catch (err) {
      process.send({ type: 'error', message: err?.stack ?? String(err) });
    }
  });
  // The parent going away ends the child too: no stray load generators.
  process.on('disconnect', () => process.exit(0));
}
