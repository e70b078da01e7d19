import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/paths.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|mts|js|mjs|cjs|py)$/.test(name) ? [path] : [];
  });
}

describe('security: no shell', () => {
  // The original ran os.system(); we never hand a string to a shell.
  const forbidden: [RegExp, string][] = [
    [/\bexecSync\s*\(/, 'execSync'],
    [/(?<![.\w])exec\s*\(\s*[`'"]/, 'exec with a command string'],
    [/child_process['"]\)?\s*\.\s*exec\b|\bcp\.exec\b|\bchildProcess\.exec\b/, 'child_process.exec'],
    [/shell\s*:\s*(true|['"`])/, 'shell: true'],
    [/\bos\.system\s*\(|subprocess\.[a-z_]+\([^)]*shell\s*=\s*True/, 'a Python shell call'],
  ];
  const files = ['server', 'client', 'bin', 'test', 'tools', 'bench'].flatMap((d) => {
    try {
      return sources(join(ROOT, d));
    } catch {
      return [];
    }
  });

  it('scans the project sources', () => {
    assert.ok(files.some((f) => f.endsWith('service.ts')), 'server sources found');
    assert.ok(files.length > 20);
  });

  it('has no child_process call that goes through a shell', () => {
    const hits: string[] = [];
    for (const file of files) {
      if (file.endsWith('security.test.ts')) continue; // this file names the patterns
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const [pattern, what] of forbidden) if (pattern.test(line)) hits.push(`${relative(ROOT, file)}:${i + 1}: ${what}`);
      });
    }
    assert.deepEqual(hits, []);
  });

  it('the scan catches what it looks for', () => {
    const samples = ["execSync('ls')", "exec('rm -rf /')", "spawn('x', [], { shell: true })", "os.system('nginx -s reload')"];
    for (const sample of samples) assert.ok(forbidden.some(([p]) => p.test(sample)), sample);
    assert.ok(!forbidden.some(([p]) => p.test("spawn(process.execPath, [bin], { stdio: 'pipe' })")));
  });
});
