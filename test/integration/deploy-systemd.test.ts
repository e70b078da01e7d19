import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../server/cli/main.js';
import { tempDir } from '../helpers/models.js';
import { findProgram, skipUnlessProgram } from '../helpers/system.js';
import { parseUnit } from '../helpers/unit-file.js';
import { ROOT } from '../helpers/paths.js';

const run = promisify(execFile);

/** `systemd-analyze <args>`: exit code and everything it said. */
async function analyze(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(findProgram('systemd-analyze')!, args, { timeout: 30_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

describe('systemd-analyze checks the generated unit', { skip: skipUnlessProgram('systemd-analyze', 'systemd') }, () => {
  let dir: string;
  /** The model and --out folder: outside /tmp, so the unit can keep a private /tmp. */
  let visible: string;

  before(() => {
    dir = tempDir('tpdne-systemd-');
    mkdirSync(join(ROOT, 'dist'), { recursive: true });
    visible = mkdtempSync(join(ROOT, 'dist', 'systemd-test-'));
    mkdirSync(join(visible, 'out'));
    writeFileSync(join(visible, 'my model.onnx'), 'stand-in: only its existence is checked');
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (visible) rmSync(visible, { recursive: true, force: true });
  });

  async function generate(file: string, args: string[]): Promise<string> {
    let err = '';
    const code = await main(['systemd', '--out', join(dir, file), ...args], { out: () => {}, err: (t) => void (err += t) });
    assert.equal(code, 0, err);
    assert.equal(err, `tpdne: wrote ${join(dir, file)}; install it with: cp ${join(dir, file)} /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now ${file}\n`);
    return join(dir, file);
  }

  const variants: [string, string, string[]][] = [
    ['the default: a dynamic user, serve defaults', 'tpdne.service', []],
    ['a named user writing --out, port 80, CPU, a model path with a space', 'tpdne-out.service', ['--user', 'root', '--name', 'tpdne-out', '--', '--port', '80', '--device', 'cpu', '--model', 'MODEL', '--interval', '500']],
  ];
  for (const [what, file, args] of variants) {
    it(`verify passes without a word: ${what}`, async () => {
      const extra = file === 'tpdne-out.service' ? ['--out', join(visible, 'out', 'sampled')] : [];
      const path = await generate(file, [...args.map((a) => (a === 'MODEL' ? join(visible, 'my model.onnx') : a)), ...extra]);
      const text = readFileSync(path, 'utf8');
      // The real node and this checkout: verify checks that ExecStart's program exists.
      assert.equal(parseUnit(text)['Service']!['ExecStart']![0]!.split(' ')[0], process.execPath);
      assert.equal(parseUnit(text)['Service']!['WorkingDirectory']![0], process.cwd());
      assert.equal(process.cwd(), ROOT.replace(/\/$/, ''));
      const result = await analyze('verify', path);
      assert.equal(result.code, 0, result.output);
      assert.equal(result.output, '', 'no warnings (unknown keys and bad values only warn)');
    });
  }

  it('verify would catch a bad key or value (the check above can fail)', async () => {
    const path = await generate('broken.service', []);
    writeFileSync(path, readFileSync(path, 'utf8').replace('Restart=always', 'Restart=sometimes').replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
    const result = await analyze('verify', path);
    assert.match(result.output, /Failed to parse service restart specifier, ignoring: sometimes/);
    assert.match(result.output, /Unknown key 'NoNewPrivilege'/);
  });

  it('the hardening rates "OK" or better in systemd-analyze security', async () => {
    const path = await generate('tpdne-security.service', []);
    const result = await analyze('security', '--offline=true', path);
    const level = /Overall exposure level for tpdne-security\.service: (\d+\.\d+) (\w+)/.exec(result.output);
    assert.ok(level, result.output);
    process.stdout.write(`# systemd-analyze security: exposure ${level[1]} ${level[2]}\n`);
    // 0-10, lower is safer; "OK" is below 4.0 (an unhardened service scores 9.6 UNSAFE).
    assert.ok(Number(level[1]) < 2.5, result.output);
  });
});
