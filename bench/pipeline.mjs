#!/usr/bin/env node
// Benchmark: the dreaming pipeline, stage by stage (latent, inference, tensor -> RGB,
// encode, publish) p50/p99, for the built-in CPPN and the omori sprite GAN
// (../shared/models/omori-sprites-32.onnx, skipped with one line when absent) at 256,
// 512 and 1024 px, each in its own process at 250 ms per slot, no viewers. "ready" is
// the share of the window's slots whose frame was ready before the slot began; "lag"
// the main thread's event-loop delay while it dreams. The baseline of a row is its own
// interval: "busy" = (inference + encode p50) / interval.
//
// PIPELINE_SECONDS=8 PIPELINE_SIZES=256,512,1024 OMORI_MODEL=<path>; --quick: 4 s.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { QUICK, round, printTable, writeResult } from './lib.mjs';

const run = promisify(execFile);
const SECONDS = Number(process.env.PIPELINE_SECONDS ?? (QUICK ? 4 : 8));
const SIZES = process.env.PIPELINE_SIZES?.split(',').map(Number) ?? [256, 512, 1024];
const OMORI = process.env.OMORI_MODEL ?? fileURLToPath(new URL('../../shared/models/omori-sprites-32.onnx', import.meta.url));
const INTERVAL = 250;
const models = ['builtin'];
if (existsSync(OMORI)) models.push(OMORI);
else console.log(`pipeline: omori rows skipped: ${OMORI} not found (see ../shared/models/README.md)`);

const rows = [];
for (const model of models) {
  for (const size of SIZES) {
    const { stdout } = await run(process.execPath, [fileURLToPath(new URL('pipeline-child.mjs', import.meta.url)), model, String(size), String(SECONDS)], {
      timeout: (SECONDS + 60) * 1000,
      env: { ...process.env, MALLOC_ARENA_MAX: '2' },
    });
    const row = JSON.parse(stdout.trim().split('\n').at(-1));
    row.busy = (row.stages.inference.p50 + row.stages.encode.p50) / INTERVAL;
    rows.push(row);
    console.log(`  ${row.model} ${size}px: ready ${round(row.readyShare * 100, 1)}%, inference p50 ${round(row.stages.inference.p50, 1)} ms, encode p50 ${round(row.stages.encode.p50, 1)} ms`);
  }
}
const f = (s) => `${round(s.p50, 1)}/${round(s.p99, 1)}`;
printTable(`Pipeline at ${INTERVAL} ms per slot, ${SECONDS} s per row, stage ms p50/p99 (busy: inference + encode p50 / interval)`, [
  ['model', 'px', 'latent', 'inference', 'to RGB', 'encode', 'publish', 'busy', 'ready', 'missed', 'lag p99', 'KB'],
  ...rows.map((r) => [r.model, r.size, f(r.stages.latent), f(r.stages.inference), f(r.stages.convert), f(r.stages.encode), f(r.stages.publish), `${round(r.busy * 100, 0)}%`, `${round(r.readyShare * 100, 1)}%`, r.missed, round(r.lagP99, 1), round(r.frameBytes / 1024, 1)]),
]);
writeResult('pipeline', { interval: INTERVAL, seconds: SECONDS, rows });
