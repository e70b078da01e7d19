#!/usr/bin/env node
// Benchmark: generation cost does not depend on the audience. tpdne runs a real (tiny,
// counting) model function at 250 ms per slot; model invocations are counted over a
// window with 0 viewers, then with 5,000 viewers receiving every frame. The two must
// be equal (to within one slot at the window's edges). The window is shorter than a
// minute and extrapolated: invocations/min = count × 60 / window seconds.
//
// CONSTANT_SECONDS=15 CONSTANT_VIEWERS=5000; --quick: 6 s.
import { sleep, round, QUICK, printTable, writeResult, startChild } from './lib.mjs';

const SECONDS = Number(process.env.CONSTANT_SECONDS ?? (QUICK ? 6 : 15));
const VIEWERS = Number(process.env.CONSTANT_VIEWERS ?? 5000);

const server = startChild('server-child.mjs', ['dream']);
const rows = [];
try {
  const info = await server.started(60_000);
  const viewers = startChild('viewers-child.mjs', [String(info.port)]);
  try {
    await viewers.started(30_000);
    async function window(label) {
      const a = await server.request({ type: 'invocations' });
      await sleep(SECONDS * 1000);
      const b = await server.request({ type: 'invocations' });
      const count = b.invocations - a.invocations;
      rows.push({ viewers: b.viewers, label, invocations: count, published: b.published - a.published, perMinute: round((count * 60) / SECONDS, 1) });
      console.log(`  ${b.viewers} viewers: ${count} invocations in ${SECONDS} s (${rows.at(-1).perMinute}/min)`);
    }
    await sleep(1000);
    await window('0 viewers');
    const added = await viewers.request({ type: 'connect', count: VIEWERS, localAddress: '127.2.0.2' }, 300_000);
    if (added.failed) console.log(`  ${added.failed} viewers failed to connect`);
    await sleep(1000);
    await window(`${VIEWERS} viewers`);
  } finally {
    await viewers.stop();
  }
} finally {
  await server.stop();
}
const [idle, watched] = rows;
const result = { seconds: SECONDS, rows, equal: Math.abs(idle.invocations - watched.invocations) <= 1, ratio: round(watched.invocations / idle.invocations, 3) };
printTable(`Model invocations, ${SECONDS} s windows extrapolated to a minute (ratio: with viewers / without)`, [
  ['viewers', 'invocations', 'published', 'per minute', 'ratio'],
  ...rows.map((r, i) => [r.viewers, r.invocations, r.published, r.perMinute, i === 0 ? 'base' : result.ratio]),
]);
console.log(result.equal ? 'constant: equal (within one slot at the window edges)' : 'constant: NOT equal');
writeResult('constant', result);
