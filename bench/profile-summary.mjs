#!/usr/bin/env node
// Summarises a V8 CPU profile (node --cpu-prof): self time by function and by where the
// code lives (node internals, ws, tpdne, native/GC), the top N functions.
//   node bench/profile-summary.mjs <file.cpuprofile> [N=15]
import { readFileSync } from 'node:fs';

const [file, top = '15'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const deltas = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const place = (url) =>
  !url ? 'native/V8' : url.startsWith('node:') ? 'node internals' : url.includes('/node_modules/ws/') ? 'ws' : url.includes('/dist/server/') ? 'tpdne' : url.includes('/bench/') ? 'bench harness' : 'other';
const fns = new Map();
const places = new Map();
for (const [id, us] of self) {
  const { callFrame: f } = byId.get(id);
  const name = f.functionName || '(anonymous)';
  const key = `${name} ${f.url ? `${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}` : ''}`.trim();
  fns.set(key, (fns.get(key) ?? 0) + us);
  const where = ['(idle)', '(program)', '(garbage collector)'].includes(name) ? name : place(f.url);
  places.set(where, (places.get(where) ?? 0) + us);
}
// Shares of the time the process was busy: idle time depends on how long it waited for load.
const busy = total - (places.get('(idle)') ?? 0);
places.delete('(idle)');
fns.delete('(idle)');
const pct = (us) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy (shares below are of busy time)`);
console.log('by place:');
for (const [k, v] of [...places].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(v)}  ${k}`);
console.log(`top ${top} functions (self time):`);
for (const [k, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) console.log(`  ${pct(v)}  ${k}`);
