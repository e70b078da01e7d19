#!/usr/bin/env node
// Runs the benchmarks one after another, each in its own process (so one that fails or
// leaks cannot bend the next one's figures): `npm run bench` runs them all,
// `npm run bench -- fanout` one, `npm run bench -- --quick` shorter windows
// (BENCH_QUICK=1 does the same). Each prints its table and writes bench/results/<name>.json.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { machine } from './lib.mjs';

const BENCHMARKS = ['pipeline', 'fanout', 'http', 'memory', 'constant', 'redis'];
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !BENCHMARKS.includes(n));
if (unknown.length) {
  console.error(`bench: Expected one of ${BENCHMARKS.join(', ')} but received '${unknown.join("', '")}'`);
  process.exit(1);
}
const m = machine();
console.log(`bench: ${m.cpus} × ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}${flags.includes('--quick') ? ', quick' : ''}`);
let failed = 0;
for (const name of names.length ? names : BENCHMARKS) {
  console.log(`\n== ${name}`);
  const t0 = Date.now();
  const code = await new Promise(function runOne(resolve) {
    const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(new URL(`${name}.mjs`, import.meta.url)), ...flags], {
      stdio: 'inherit',
      env: { ...process.env, MALLOC_ARENA_MAX: '2' },
    });
    // Ctrl-C reaches the child too (same process group); wait for it to clean up.
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  console.log(`== ${name}: ${code === 0 ? 'done' : `failed (exit ${code})`} in ${Math.round((Date.now() - t0) / 1000)} s`);
  if (code !== 0) failed++;
}
process.exit(failed ? 1 : 0);
