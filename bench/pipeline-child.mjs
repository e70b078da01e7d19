// One pipeline configuration in its own process: startTpdne with the given model and
// size, dreaming at 250 ms, no viewers. Collects the dreamer's stage timings of every
// frame it publishes, the event-loop delay, and how many slots got a frame ready before
// the slot began. Prints one JSON line on stdout.
//   node bench/pipeline-child.mjs <builtin|path.onnx> <size> <seconds>
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { percentile, sleep } from './lib.mjs';

const [model, size, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const INTERVAL = 250;
const WARMUP_MS = 2000;
const { startTpdne } = await import(new URL('../dist/server/service.js', import.meta.url).href);
const tpdne = await startTpdne({ port: 0, model, size, interval: INTERVAL, latent: model === 'builtin' ? 'normal' : 'uniform', device: 'cpu', log: () => {} });
const stages = ['latent', 'inference', 'convert', 'encode', 'publish'];
const samples = Object.fromEntries([...stages, 'total'].map((s) => [s, []]));
let recording = false;
const unsubscribe = tpdne.store.subscribe(function onFrame() {
  // The dreamer stores the frame's timings right after publish() returns.
  setImmediate(function record() {
    const t = tpdne.health().timings;
    if (!recording || !t) return;
    for (const s of stages) samples[s].push(t[s]);
    samples.total.push(t.latent + t.inference + t.convert + t.encode);
  });
});
const lag = monitorEventLoopDelay({ resolution: 2 });
try {
  await sleep(WARMUP_MS);
  const before = tpdne.health().frames;
  const slot0 = Math.floor(Date.now() / INTERVAL);
  recording = true;
  lag.enable();
  await sleep(seconds * 1000);
  lag.disable();
  recording = false;
  const after = tpdne.health().frames;
  const slots = Math.floor(Date.now() / INTERVAL) - slot0;
  const published = after.published - before.published;
  const late = after.late - before.late;
  const stats = {};
  for (const [s, v] of Object.entries(samples)) {
    v.sort((a, b) => a - b);
    stats[s] = { p50: percentile(v, 50), p99: percentile(v, 99) };
  }
  const frameBytes = tpdne.store.current()?.bytes.length ?? 0;
  console.log(
    JSON.stringify({
      model: model === 'builtin' ? 'builtin-cppn' : model.split('/').at(-1),
      size,
      slots,
      published,
      late,
      missed: after.missed - before.missed,
      dropped: after.dropped - before.dropped,
      readyShare: slots ? (published - late) / slots : 0,
      frameBytes,
      stages: stats,
      lagP50: lag.percentile(50) / 1e6,
      lagP99: lag.percentile(99) / 1e6,
      lagMax: lag.max / 1e6,
    }),
  );
} finally {
  unsubscribe();
  await tpdne.close();
}
