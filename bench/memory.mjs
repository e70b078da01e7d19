#!/usr/bin/env node
// Benchmark: server memory per connected idle viewer. The server (its own process, run
// with --expose-gc, collected before each reading) has no frame to send, so viewers only
// hold their connection. Heap and RSS growth from 0 viewers, divided by the viewers;
// the same for plain net sockets (the baseline: what a connection costs in Node at all).
//
// MEMORY_VIEWERS=1000,10000; --quick: 1000,5000.
import { sleep, round, QUICK, printTable, writeResult, startChild } from './lib.mjs';

const VIEWERS = process.env.MEMORY_VIEWERS?.split(',').map(Number) ?? (QUICK ? [1000, 5000] : [1000, 10000]);

async function measure(mode, addressBase) {
  const server = startChild('server-child.mjs', [mode], { execArgv: ['--expose-gc'] });
  const rows = [];
  try {
    const info = await server.started(60_000);
    const viewers = startChild('viewers-child.mjs', [String(info.port)]);
    try {
      await viewers.started(30_000);
      await sleep(500);
      const base = await server.request({ type: 'mem' });
      let connected = 0;
      for (const [i, n] of VIEWERS.entries()) {
        const added = await viewers.request({ type: 'connect', count: n - connected, localAddress: `127.1.${addressBase}.${i + 2}` }, 300_000);
        connected = added.open;
        await sleep(1000);
        const m = await server.request({ type: 'mem' });
        rows.push({
          mode,
          viewers: m.viewers,
          heapPerViewer: round((m.heapUsed - base.heapUsed) / m.viewers / 1024),
          rssPerViewer: round((m.rss - base.rss) / m.viewers / 1024),
          externalPerViewer: round((m.external - base.external) / m.viewers / 1024),
          heapMiB: round(m.heapUsed / 2 ** 20, 1),
          rssMiB: round(m.rss / 2 ** 20, 1),
        });
        console.log(`  ${mode} ${m.viewers} viewers: heap ${rows.at(-1).heapPerViewer} KB, RSS ${rows.at(-1).rssPerViewer} KB per viewer`);
      }
    } finally {
      await viewers.stop();
    }
  } finally {
    await server.stop();
  }
  return rows;
}

const baseline = await measure('net', 1);
const rows = await measure('ws', 2);
for (const row of rows) {
  const base = baseline.find((b) => b.viewers === row.viewers) ?? baseline.at(-1);
  row.rssRatio = round(row.rssPerViewer / base.rssPerViewer);
}
printTable('Memory per idle viewer, KB (growth from 0 viewers / viewers; ratio: RSS per viewer / raw net sockets)', [
  ['server', 'viewers', 'heap KB', 'RSS KB', 'ratio', 'external KB', 'heap MiB', 'RSS MiB'],
  ...[...baseline, ...rows].map((r) => [r.mode, r.viewers, r.heapPerViewer, r.rssPerViewer, r.rssRatio ?? 'base', r.externalPerViewer, r.heapMiB, r.rssMiB]),
]);
writeResult('memory', { rows: [...baseline, ...rows] });
