// The diffusion pipeline through the real server: the model worker, the encoder, the
// frame store and the stream, on the tiny Optimum-layout fixture.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { startTestServer, connectViewer, waitForFrame, type TestServer } from '../helpers/server.js';
import { runCli } from '../helpers/cli.js';
import { skipUnlessTorch, writeTinyDiffusion } from '../helpers/diffusion.js';
import { tempDir } from '../helpers/models.js';

const skip = skipUnlessTorch();
const CAT = 'a photo of a cat';
const DOG = 'a portrait of a dog';

describe('diffusion model served', { skip }, () => {
  let dir = '';
  before(() => {
    dir = writeTinyDiffusion();
  });

  it('streams frames to viewers and reports the model in /healthz', async () => {
    const server = await startTestServer({ model: dir, prompt: [CAT, DOG], size: 64 });
    try {
      const viewer = await connectViewer(server.url);
      try {
        const frames = await viewer.until(3);
        const last = frames.at(-1)!;
        assert.deepEqual([last.width, last.height, last.format], [64, 64, 'webp']);
        assert.ok(frames[2]!.slot > frames[1]!.slot && frames[1]!.slot > frames[0]!.slot);
        const meta = await sharp(Buffer.from(last.image)).metadata();
        assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 64, 64]);
      } finally {
        await viewer.close();
      }
      const health = (await (await fetch(server.url + '/healthz')).json()) as Record<string, unknown>;
      assert.equal(health.status, 'ok');
      assert.equal(health.model, 'tiny-sd');
      assert.equal(health.device, 'cpu');
    } finally {
      await server.close();
    }
  });

  it('same seed, same slot: same bytes on two servers; prompts rotate by slot; 2 steps differ from 1', async () => {
    const servers: TestServer[] = await Promise.all([
      startTestServer({ model: dir, prompt: [CAT, DOG], seed: 77, size: 64 }), // a
      startTestServer({ model: dir, prompt: [CAT, DOG], seed: 77, size: 64 }), // b: a's twin
      startTestServer({ model: dir, prompt: [CAT], seed: 77, size: 64 }), // cats: prompt 0 only
      startTestServer({ model: dir, prompt: [CAT], seed: 77, size: 64, steps: 2 }), // cats, two steps
    ]);
    try {
      const [a, b, cats, twoSteps] = servers as [TestServer, TestServer, TestServer, TestServer];
      const first = await waitForFrame(a);
      // An even slot s (prompt 0 on a) and s + 1 (prompt 1), a little ahead.
      const even = first.slot + 2 + ((first.slot + 2) % 2);
      await Promise.all(servers.map((s) => waitForFrame(s, even + 1)));
      const bytes = (s: TestServer, slot: number) => {
        const frame = s.store.get(slot);
        assert.ok(frame, `slot ${slot} is kept`);
        return frame.bytes;
      };
      for (const slot of [even, even + 1]) {
        assert.ok(bytes(a, slot).equals(bytes(b, slot)), `slot ${slot}: same seed, same bytes`);
      }
      assert.ok(!bytes(a, even).equals(bytes(a, even + 1)), 'each slot is a new image');
      // Slot s uses prompt s mod 2: the even slot is the cat-only server's image, the odd one is not.
      assert.ok(bytes(a, even).equals(bytes(cats, even)), `slot ${even} uses prompt 0 (${CAT})`);
      assert.ok(!bytes(a, even + 1).equals(bytes(cats, even + 1)), `slot ${even + 1} uses prompt 1 (${DOG})`);
      assert.ok(!bytes(twoSteps, even).equals(bytes(cats, even)), 'two Euler steps give another image than one');
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('fails at start with one line and exit code 1 on bad diffusion inputs', async () => {
    const without = (paths: string[]): string => {
      const copy = join(tempDir('tpdne-diffusion-cli-'), 'model');
      cpSync(dir, copy, { recursive: true });
      for (const path of paths) rmSync(join(copy, path), { recursive: true });
      return copy;
    };
    const long = Array.from({ length: 76 }, () => 'cat').join(' ');
    const table: [string[], RegExp][] = [
      [['--model', dir, '--prompt', CAT, '--prompt', long], /^tpdne: Expected a prompt of at most 77 tokens \(with the start and end tokens\) for --prompt but received 'cat cat .*…', 78 tokens$/],
      [['--model', without(['unet']), '--prompt', CAT], /^tpdne: Diffusion model folder .* is missing unet\/model\.onnx \(export one with: optimum-cli export onnx --model stabilityai\/sd-turbo <folder>\)$/],
      [['--model', without(['tokenizer']), '--prompt', CAT], /^tpdne: Diffusion model folder .* is missing tokenizer\/tokenizer\.json \(or tokenizer\/vocab\.json and tokenizer\/merges\.txt\) /],
      [['--prompt', CAT], /^tpdne: Expected a diffusion model folder \(with model_index\.json\) for --model with --prompt but received 'builtin'$/],
      [['--model', dir], /^tpdne: Expected at least one prompt \(--prompt "…" or --prompts <file>\) for the diffusion model '.*' but received none$/],
    ];
    const results = await Promise.all(table.map(([args]) => runCli(['serve', '--port', '0', '--device', 'cpu', ...args], 30_000)));
    results.forEach((result, i) => {
      const [args, message] = table[i]!;
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, message);
    });
  });
});
