import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { runCli, startCli } from '../helpers/cli.js';
import { tempDir, writeLinearModel } from '../helpers/models.js';
import { connectViewer } from '../helpers/server.js';
import { ROOT } from '../helpers/paths.js';

/** Asserts the CLI failed with exactly one line on stderr matching `pattern`. */
function assertOneLineFailure(result: { code: number | null; stderr: string }, pattern: RegExp, code = 1): void {
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${result.stderr}`);
  assert.match(lines[0]!, /^tpdne: /);
  assert.match(lines[0]!, pattern);
  assert.equal(result.code, code, 'exit code');
}

describe('tpdne serve: bad input fails at start with one clear line', () => {
  let dir: string;
  let blocker: Server;
  let busyPort: number;
  before(async () => {
    dir = tempDir();
    writeFileSync(join(dir, 'notes.onnx'), 'this is not a model\n');
    writeLinearModel(dir, 'vector-out', { outputDims: [1, 7] });
    writeLinearModel(dir, 'five-channels', { outputDims: [1, 5, 6, 5] });
    writeLinearModel(dir, 'mapping-like', { outputDims: [1, 8, 32] });
    writeLinearModel(dir, 'sprite-strip', { outputDims: [1, 3, 16, 80] });
    writeLinearModel(dir, 'three-d-latent', { outputDims: [1, 3, 4, 4], inputDims: [1, 8, 2] });
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    busyPort = (blocker.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => blocker.close(() => r())));

  const table: [string, () => string[], RegExp][] = [
    ['a missing model file', () => ['--model', join(dir, 'nope.onnx')], /^tpdne: Model file not found or unreadable: .*nope\.onnx$/],
    ['a file that is not ONNX', () => ['--model', join(dir, 'notes.onnx')], /^tpdne: Cannot load model notes\.onnx: /],
    ['a model whose output is a vector', () => ['--model', join(dir, 'vector-out.onnx')], /output 'image' of shape \[1, 7\] is not an image/],
    ['a model whose output has 5 channels', () => ['--model', join(dir, 'five-channels.onnx')], /output 'image' of shape \[1, 5, 6, 5\] is not an image/],
    [
      'a model whose output is a StyleGAN w, not a picture',
      () => ['--model', join(dir, 'mapping-like.onnx')],
      /output 'image' of shape \[1, 8, 32\] is not an image: a grey 32×8 output is more like a latent than a picture; a StyleGAN mapping graph\? Give --model the folder holding tpdne\.json$/,
    ],
    ['a model whose latent is not [N, D] or [N, D, 1, 1]', () => ['--model', join(dir, 'three-d-latent.onnx')], /Expected latent input of shape \[N, D\] or \[N, D, 1, 1\] but received latent\[1, 8, 2\]/],
    ['a port in use', () => ['--port', String(busyPort), '--size', '64'], /already in use/],
    ['a bad port', () => ['--port', 'http'], /^tpdne: Expected integer between 0 and 65535 for --port but received 'http'$/],
    ['a bad interval', () => ['--interval', '5'], /^tpdne: Expected integer between 20 and 3600000 for --interval but received '5'$/],
    ['a bad format', () => ['--format', 'gif'], /^tpdne: Expected one of webp, jpeg for --format but received 'gif'$/],
    ['a bad device', () => ['--device', 'tpu'], /^tpdne: Expected one of auto, cpu, cuda, webgpu for --device but received 'tpu'$/],
    ['an unknown flag', () => ['--sise', '64'], /^tpdne: Unknown option --sise \(see tpdne serve --help\)$/],
    ['a flag without its value', () => ['--seed'], /^tpdne: Option --seed needs a value$/],
    ['CUDA when there is none', () => ['--device', 'cuda', '--size', '64'], /^tpdne: CUDA execution provider unavailable \(.+\); see the README's GPU section$/],
  ];
  for (const [name, args, pattern] of table) {
    it(`rejects ${name}`, async () => {
      // runCli kills after 20 s: a process left running fails the exit-code check.
      // Port 0 unless the row is about the port: the default 8080 may be taken on this box.
      const argv = args();
      const port = argv.includes('--port') ? [] : ['--port', '0'];
      assertOneLineFailure(await runCli(['serve', ...port, ...argv]), pattern);
    });
  }

  it('takes a colour picture far from square (a sprite strip, 80×16)', async () => {
    const result = await runCli(['serve', '--port', '0', '--model', join(dir, 'sprite-strip.onnx'), '--size', '80'], 4000);
    assert.match(result.stderr, /tpdne: dreaming with sprite-strip\.onnx /, result.stderr);
  });

  it('prints its version for --version and version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', 'version']) {
      const result = await runCli([flag]);
      assert.deepEqual([result.code, result.stdout, result.stderr], [0, `tpdne ${version}\n`, '']);
    }
  });

  it('rejects an unknown command with exit code 2', async () => {
    assertOneLineFailure(await runCli(['serv']), /^tpdne: unknown command 'serv' \(try tpdne help\)$/, 2);
  });

  it('documents every option in --help and exits 0', async () => {
    const result = await runCli(['serve', '--help']);
    assert.equal(result.code, 0);
    for (const flag of ['--host', '--port', '--model', '--interval', '--size', '--seed', '--latent', '--format', '--quality', '--device', '--out']) {
      assert.match(result.stdout, new RegExp(`^  ${flag} .*\\(default: [^)]+\\)$`, 'm'));
    }
  });
});

describe('tpdne serve: running', () => {
  it('falls back from auto to CPU with one log line, serves, and exits 0 on SIGTERM within 2 s', async () => {
    const cli = startCli(['serve', '--port', '0', '--size', '64']);
    try {
      const log = await cli.waitFor(/dreaming with builtin-cppn on cpu/);
      const url = /at (http:\/\/\S+)/.exec(log)![1]!;
      const fallback = log.split('\n').filter((l) => /CUDA|GPU|cuda/.test(l));
      assert.equal(fallback.length, 1, log);
      assert.match(fallback[0]!, /^tpdne: --device auto: CUDA execution provider unavailable \(.+\).*; running on CPU$/);
      assert.equal(log.trimEnd().split('\n').length, 2, `exactly two lines at start:\n${log}`);
      const health = (await (await fetch(url + '/healthz')).json()) as { device: string };
      assert.equal(health.device, 'cpu');
      const viewer = await connectViewer(url);
      await viewer.until(2);
      const closeCode = new Promise<number>((r) => viewer.socket.once('close', (c) => r(c)));
      const started = Date.now();
      cli.child.kill('SIGTERM');
      const { code } = await cli.exited;
      assert.equal(code, 0);
      assert.equal(await closeCode, 1001, 'viewers are told the server is going away');
      assert.ok(Date.now() - started < 2000, `exit took ${Date.now() - started} ms`);
      assert.match(cli.stderr(), /SIGTERM: shutting down/);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });
});
