import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/models.js';
import { sleep } from '../helpers/browser.js';

/** The README's `sampleImageAndSaveRepeatedly` program: the js block after "A complete program". */
function readmeProgram(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const match = /A complete program[^\n]*\n\n```js\n([\s\S]*?)```/.exec(readme);
  assert.ok(match, 'the README has the program');
  return match[1]!;
}

describe("the README's API example", () => {
  const work = tempDir('tpdne-readme-');
  // Inside the package, so `import … from 'tpdne'` resolves to this checkout (self-reference).
  const scripts = mkdtempSync(join(ROOT, 'dist', 'readme-'));
  after(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(scripts, { recursive: true, force: true });
  });

  it('runs as written: writes out/sampled.webp, a whole 256 px image, and stops on SIGINT', async () => {
    const file = join(scripts, 'example.mjs');
    writeFileSync(file, readmeProgram());
    const child = spawn(process.execPath, [file], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const image = join(work, 'out', 'sampled.webp');
    const deadline = Date.now() + 10_000;
    while (!existsSync(image)) {
      assert.ok(Date.now() < deadline, `no ${image} in 10 s: ${stderr}`);
      await sleep(50);
    }
    await sleep(600); // a few more slots, so the file is replaced while it is read
    const meta = await sharp(readFileSync(image)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 256, 256]);
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    assert.equal(stderr, '');
  });
});
