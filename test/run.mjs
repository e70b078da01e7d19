#!/usr/bin/env node
// Runs the compiled test suite (dist/test/**/*.test.js) with node's test runner and ends
// with one line: `N passed, N failed` (`, N skipped` when any were skipped).
// TEST_FILTER=<substring> runs only the files whose path contains it.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testRoot = join(root, 'dist', 'test');

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return find(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

const filter = process.env.TEST_FILTER ?? '';
const files = find(testRoot)
  .filter((f) => relative(testRoot, f).includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`test/run.mjs: no test files under ${testRoot}${filter ? ` matching '${filter}'` : ''}`);
  process.exit(1);
}

const scratch = mkdtempSync(join(tmpdir(), 'tpdne-test-'));
const counts = join(scratch, 'counts.jsonl');
const child = spawn(
  process.execPath,
  [
    '--test',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 1}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'test', 'count-reporter.mjs')}`,
    `--test-reporter-destination=${counts}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, MALLOC_ARENA_MAX: '2' } },
);
const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  for (const line of readFileSync(counts, 'utf8').split('\n')) {
    if (!line) continue;
    const { result } = JSON.parse(line);
    if (result === 'pass') passed++;
    else if (result === 'fail') failed++;
    else skipped++;
  }
} catch {
  failed++;
}
rmSync(scratch, { recursive: true, force: true });
if (code !== 0 && failed === 0) failed = 1; // the runner itself failed: never report green
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
