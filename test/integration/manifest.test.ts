import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, waitForFrame, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/models.js';
import { writeTwoGraphManifest, type TwoGraphOptions } from '../helpers/manifests.js';
import { runCli } from '../helpers/cli.js';
import { ErrorCodes, isTpdneError } from '../../server/errors.js';
import { writeNpy } from '../../server/model/npy.js';
import type { ServeOptions } from '../../server/options.js';

/** The frames of `count` consecutive slots once the server has started. */
async function consecutiveFrames(server: TestServer, count: number) {
  const first = await waitForFrame(server);
  const frames = [first];
  while (frames.length < count) frames.push(await waitForFrame(server, frames.at(-1)!.slot + 1));
  return frames;
}

async function withServer<T>(options: ServeOptions, body: (server: TestServer) => Promise<T>): Promise<T> {
  const server = await startTestServer({ size: 32, interval: 100, ...options });
  try {
    return await body(server);
  } finally {
    await server.close();
  }
}

describe('manifest pipeline (two graphs built by our code)', () => {
  it('streams frames from a folder with tpdne.json, a new image every slot', async () => {
    const dir = tempDir();
    writeTwoGraphManifest(dir);
    await withServer({ model: dir }, async (server) => {
      const frames = await consecutiveFrames(server, 4);
      for (let i = 1; i < frames.length; i++) {
        assert.equal(frames[i]!.slot, frames[i - 1]!.slot + 1);
        assert.ok(!frames[i]!.bytes.equals(frames[i - 1]!.bytes), 'each slot is a new image');
      }
      assert.deepEqual([frames[0]!.width, frames[0]!.height], [32, 32]);
      const health = server.health();
      assert.equal(health.status, 'ok');
      assert.equal(health.model, dir.split('/').at(-1));
    });
  });

  it('--truncation 0 dreams the average w: byte-identical frames every slot', async () => {
    const dir = tempDir();
    const manifest = writeTwoGraphManifest(dir);
    await withServer({ model: manifest, truncation: 0 }, async (server) => {
      const frames = await consecutiveFrames(server, 4);
      for (const frame of frames.slice(1)) assert.ok(frame.bytes.equals(frames[0]!.bytes), `slot ${frame.slot} equals slot ${frames[0]!.slot}`);
    });
  });

  it('without truncation in the manifest, --truncation is refused at start rather than ignored', async () => {
    const dir = tempDir();
    writeTwoGraphManifest(dir, { manifest: { latent: { shape: [1, 8] } } });
    await assert.rejects(startTestServer({ model: dir, truncation: 0 }), {
      code: 'ERR_INVALID_OPTION',
      message: `Expected a model manifest with latent.truncation for --model with --truncation but received '${join(dir, 'tpdne.json')}', which has none`,
    });
  });
});

/** Each bad manifest: how to make it, and the one line it must fail with. */
const BAD: [string, (dir: string) => string, RegExp][] = [
  [
    'a missing graph file',
    (dir) => {
      const path = writeTwoGraphManifest(dir);
      rmSync(join(dir, 'synthesis.onnx'));
      return path;
    },
    /^Expected a readable file for manifest field graphs\[1\]\.file but received 'synthesis\.onnx', which does not exist or cannot be read \(in .*tpdne\.json\)$/,
  ],
  [
    'an unknown field',
    (dir) => writeTwoGraphManifest(dir, { manifest: { steps: 4 } }),
    /^Expected one of the fields version, .* for manifest field steps but received an unknown field \(in .*\)$/,
  ],
  [
    'shapes that do not fit between the graphs (from their metadata)',
    (dir) => writeTwoGraphManifest(dir, { synthesisWs: 5 }),
    /^Expected shape \[batch, 5, 8\] \(input 'ws' of graph 'synthesis'\) for manifest field graphs\[1\]\.inputs\.ws but received mapping\.ws of shape \[batch, 4, 8\] \(in .*\)$/,
  ],
  [
    'shapes that do not fit between the graphs (found by the warm-up run)',
    (dir) => writeTwoGraphManifest(dir, { synthesisWs: 5, symbolicWs: true }),
    /^Expected a graph that runs on its inputs for manifest field graphs\[1\] but received an error from onnxruntime: .*Reshape.*\(in .*\)$/,
  ],
  [
    'a bad .npy (big-endian)',
    (dir) => {
      const path = writeTwoGraphManifest(dir);
      const bytes = readFileSync(join(dir, 'w_avg.npy'));
      writeFileSync(join(dir, 'w_avg.npy'), Buffer.from(bytes.toString('latin1').replace("'<f4'", "'>f4'"), 'latin1'));
      return path;
    },
    /^Expected a float32, float64 or int64 little-endian C-order \.npy for manifest field latent\.truncation\.average but received 'w_avg\.npy' with dtype '>f4' .*\(in .*\)$/,
  ],
  [
    'an average of the wrong length',
    (dir) => {
      const path = writeTwoGraphManifest(dir);
      writeFileSync(join(dir, 'w_avg.npy'), readFileSync(join(writeAverageDir(), 'w_avg.npy')));
      return path;
    },
    /^Expected float32 values as many as the last axis of mapping\.ws \(float32 \[1, 4, 8\]\) for manifest field latent\.truncation\.average but received 'w_avg\.npy' with 6 \(in .*\)$/,
  ],
  [
    'an average that is not finite',
    (dir) => {
      const path = writeTwoGraphManifest(dir);
      writeFileSync(join(dir, 'w_avg.npy'), writeNpy({ shape: [8], data: new Float32Array(8).fill(NaN) }));
      return path;
    },
    /^Expected finite values for manifest field latent\.truncation\.average but received NaN or Infinity \(in .*\)$/,
  ],
  [
    'an input fed that the graph does not have',
    (dir) =>
      writeTwoGraphManifest(dir, {
        manifest: {
          graphs: [
            { name: 'mapping', file: 'mapping.onnx', inputs: { z: 'latent', c: 'latent' } },
            { name: 'synthesis', file: 'synthesis.onnx', inputs: { ws: 'mapping.ws' } },
          ],
        },
      }),
    /^Expected one of the inputs of graph 'mapping' \(z\) for manifest field graphs\[0\]\.inputs\.c but received 'c' \(in .*\)$/,
  ],
  [
    'a graph input left unfed',
    (dir) =>
      writeTwoGraphManifest(dir, {
        manifest: {
          graphs: [
            { name: 'mapping', file: 'mapping.onnx', inputs: {} },
            { name: 'synthesis', file: 'synthesis.onnx', inputs: { ws: 'mapping.ws' } },
          ],
        },
      }),
    /^Expected a source for input 'z' of graph 'mapping' for manifest field graphs\[0\]\.inputs\.z but received nothing \(in .*\)$/,
  ],
];

/** A folder whose w_avg.npy has 6 values (a w_dim-6 export), for the wrong-length case. */
function writeAverageDir(): string {
  const dir = tempDir();
  writeTwoGraphManifest(dir, { wDim: 6 });
  return dir;
}

describe('bad manifests fail at start with one clear line', () => {
  for (const [name, make, pattern] of BAD) {
    it(`API: ${name} → ERR_MANIFEST`, async () => {
      const model = make(tempDir());
      await assert.rejects(
        startTestServer({ model, size: 32 }),
        (err: unknown) => isTpdneError(err, ErrorCodes.MANIFEST) && pattern.test(err.message),
      );
    });
    it(`CLI: ${name} → one stderr line, exit 1`, async () => {
      const model = make(tempDir());
      const result = await runCli(['serve', '--port', '0', '--size', '32', '--model', model]);
      const lines = result.stderr.trimEnd().split('\n').filter((l) => !/--device auto: .*running on CPU$/.test(l));
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, /^tpdne: /);
      assert.match(lines[0]!.slice('tpdne: '.length), pattern);
      assert.equal(result.code, 1);
    });
  }
});
