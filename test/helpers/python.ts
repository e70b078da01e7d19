import { spawnSync, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './paths.js';

/**
 * Debian's Python, which has python3-torch and python3-onnx (the first python3 on PATH
 * may not). TPDNE_TEST_PYTHON points the tests at another one.
 */
export const PYTHON = process.env.TPDNE_TEST_PYTHON ?? '/usr/bin/python3';
const TOOLS = join(ROOT, 'tools', 'export');
const run = promisify(execFile);
let announced = false;

/**
 * For suites that need PyTorch and ONNX in Debian's Python: false when they import, else a
 * skip reason naming the apt command, printed once so a skip is never silent. Under CI
 * (CI=true) it throws instead: nothing is skipped there (.ci/run installs them).
 */
export function skipUnlessTorch(): string | false {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { stdio: 'ignore', timeout: 60_000 });
  if (probe.status === 0) return false;
  const reason = `${PYTHON} cannot import torch and onnx: install them with 'apt-get install -y python3-torch python3-onnx'`;
  if (process.env.CI === 'true') throw new Error(`CI: ${reason}`);
  if (!announced) {
    announced = true;
    process.stdout.write(`# SKIP ${reason}\n`);
  }
  return reason;
}

export interface TinyStyleGanOptions {
  /** Export with a dynamic batch dimension (unfused modulated convolutions). */
  dynamicBatch?: boolean;
  resolution?: number;
}

/**
 * A tiny random StyleGAN2-like network (tools/export/tiny_stylegan.py), pickled the way
 * NVIDIA's are and exported by tools/export/stylegan.py into a tpdne model folder, with
 * check/ holding PyTorch's own image. Cached in the temp folder by the tools' source and
 * the options, so a test run exports each variant once.
 */
export async function exportTinyStyleGan(options: TinyStyleGanOptions = {}): Promise<string> {
  const resolution = options.resolution ?? 32;
  const hash = createHash('sha256');
  for (const file of ['tiny_stylegan.py', 'stylegan.py']) hash.update(readFileSync(join(TOOLS, file)));
  hash.update(JSON.stringify({ resolution, dynamic: options.dynamicBatch === true }));
  const dir = join(tmpdir(), `tpdne-stylegan-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(dir, 'tpdne.json'))) return dir;
  const work = mkdtempSync(join(tmpdir(), 'tpdne-stylegan-work-'));
  try {
    const pickle = join(work, 'tiny.pkl');
    await run(PYTHON, [join(TOOLS, 'tiny_stylegan.py'), pickle, '--resolution', String(resolution)], { timeout: 120_000 });
    const out = join(work, 'out');
    const flags = ['--check', ...(options.dynamicBatch ? ['--dynamic-batch'] : [])];
    await run(PYTHON, [join(TOOLS, 'stylegan.py'), pickle, out, ...flags], { timeout: 120_000 });
    // Another test file may have exported the same variant meanwhile: either copy is good.
    if (!existsSync(join(dir, 'tpdne.json'))) {
      rmSync(dir, { recursive: true, force: true });
      renameSync(out, dir);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}
