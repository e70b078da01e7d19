import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveServeOptions, DEFAULT_SERVE_OPTIONS } from '../../server/options.js';
import { parseServeArgs } from '../../server/cli/main.js';
import { serveHelp, SERVE_FLAGS, flagOf } from '../../server/cli/serve-flags.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/models.js';

/** A manifest file with `root` as its JSON (only what the options check reads). */
function manifestFile(root: object): string {
  const path = join(tempDir(), 'tpdne.json');
  writeFileSync(path, JSON.stringify(root));
  return path;
}

describe('resolveServeOptions', () => {
  it('fills every default', () => {
    const o = resolveServeOptions({});
    const { log, ...rest } = o;
    assert.equal(typeof log, 'function');
    assert.deepEqual(rest, { ...DEFAULT_SERVE_OPTIONS, generate: null });
    assert.ok(Object.isFrozen(o));
  });

  it('reads --truncation, --walk and --keyframes from CLI strings', () => {
    const model = manifestFile({ latent: { shape: [1, 8], truncation: { tensor: 'mapping.ws', average: 'w_avg.npy' } } });
    const o = resolveServeOptions({ model, truncation: '0.5', walk: 'slerp', keyframes: '8', batch: '4' });
    assert.deepEqual([o.truncation, o.walk, o.keyframes, o.batch], [0.5, 'slerp', 8, 4]);
    assert.equal(resolveServeOptions({ batch: 'auto' }).batch, 'auto');
    assert.equal(resolveServeOptions({ model, truncation: '.25' }).truncation, 0.25);
    assert.equal(resolveServeOptions({ model, truncation: '0' }).truncation, 0);
  });

  describe('latent options the model would ignore', () => {
    const folder = tempDir();
    const noTruncation = manifestFile({ latent: { shape: [1, 8] } });
    const declared = manifestFile({ latent: { shape: [1, 8], distribution: 'normal' } });
    writeFileSync(join(folder, 'model_index.json'), '{}');
    const withBom = join(tempDir(), 'tpdne.json');
    writeFileSync(withBom, '\uFEFF' + JSON.stringify({ latent: { shape: [1, 8], distribution: 'normal' } }));
    const onnx = join(tempDir(), 'face.onnx');
    writeFileSync(onnx, 'not read by the options check');
    const nullTruncation = manifestFile({ latent: { shape: [1, 8], truncation: null } });
    // A folder whose name ends in .json is a folder model all the same.
    const jsonFolder = join(tempDir(), 'face.json');
    mkdirSync(jsonFolder);
    writeFileSync(join(jsonFolder, 'tpdne.json'), JSON.stringify({ latent: { shape: [1, 8] } }));
    const refused: [Record<string, unknown>, string][] = [
      [{ truncation: 0.5 }, "Expected a model manifest with latent.truncation for --model with --truncation but received 'builtin'"],
      [{ model: onnx, truncation: '0' }, `Expected a model manifest with latent.truncation for --model with --truncation but received '${onnx}'`],
      [{ model: noTruncation, truncation: 1 }, `Expected a model manifest with latent.truncation for --model with --truncation but received '${noTruncation}', which has none`],
      [{ model: folder, prompt: 'a cat', latent: 'uniform' }, `Expected 'normal' (a diffusion model starts from normal noise) for --latent with the diffusion folder '${folder}' but received 'uniform'`],
      [{ model: declared, latent: 'uniform' }, `Expected 'normal' (the latent.distribution of ${declared}) for --latent but received 'uniform'`],
      [{ model: withBom, latent: 'uniform' }, `Expected 'normal' (the latent.distribution of ${withBom}) for --latent but received 'uniform'`],
      [{ keyframes: '8' }, 'Expected --walk slerp with --keyframes but received --walk jump (the default)'],
      [{ keyframes: '8', walk: 'jump' }, 'Expected --walk slerp with --keyframes but received --walk jump'],
      [{ model: nullTruncation, truncation: 1 }, `Expected a model manifest with latent.truncation for --model with --truncation but received '${nullTruncation}', which has none`],
      [{ model: jsonFolder, truncation: 1 }, `Expected a model manifest with latent.truncation for --model with --truncation but received '${join(jsonFolder, 'tpdne.json')}', which has none`],
      [{ role: 'edge', redis: 'redis://h', walk: 'slerp' }, "Expected nothing with --role edge (an edge serves the frames Redis carries) for --walk but received 'slerp'"],
      [{ role: 'edge', redis: 'redis://h', size: '256' }, "Expected nothing with --role edge (an edge serves the frames Redis carries) for --size but received '256'"],
      [{ role: 'edge', redis: 'redis://h', batch: 4 }, 'Expected nothing with --role edge (an edge serves the frames Redis carries) for --batch but received 4'],
    ];
    for (const [input, message] of refused) {
      it(`refuses ${JSON.stringify(input).replace(folder, '<folder>')}`, () => {
        assert.throws(() => resolveServeOptions(input as never), { code: 'ERR_INVALID_OPTION', message });
      });
    }
    it('takes what the model uses: --latent on a plain model, the declared one on a manifest, --keyframes with slerp', () => {
      assert.equal(resolveServeOptions({ model: 'face.onnx', latent: 'uniform' }).latent, 'uniform');
      assert.equal(resolveServeOptions({ model: declared, latent: 'normal' }).latent, 'normal');
      assert.equal(resolveServeOptions({ model: folder, prompt: 'a cat', latent: 'normal' }).latent, 'normal');
      assert.equal(resolveServeOptions({ walk: 'slerp', keyframes: 4 }).keyframes, 4);
      // A model that is not there is the loader's to report, as without these options.
      assert.equal(resolveServeOptions({ model: join(folder, 'missing.json'), truncation: 0.3 }).truncation, 0.3);
      assert.equal(resolveServeOptions({ model: join(folder, 'missing'), truncation: 0.3 }).truncation, 0.3);
    });
  });

  it('accepts numeric strings from the CLI and "builtin"', () => {
    const o = resolveServeOptions({ port: '0', interval: '100', size: '64', model: 'builtin', seed: '4294967295' });
    assert.equal(o.port, 0);
    assert.equal(o.interval, 100);
    assert.equal(o.size, 64);
    assert.equal(o.model, null);
    assert.equal(o.seed, 4294967295);
  });

  const bad: [Record<string, unknown>, string][] = [
    [{ port: 'abc' }, "Expected integer between 0 and 65535 for --port but received 'abc'"],
    [{ port: 70000 }, 'Expected integer between 0 and 65535 for --port but received 70000'],
    [{ port: '80.5' }, "Expected integer between 0 and 65535 for --port but received '80.5'"],
    [{ interval: '0' }, "Expected integer between 20 and 3600000 for --interval but received '0'"],
    [{ interval: -250 }, 'Expected integer between 20 and 3600000 for --interval but received -250'],
    [{ size: '8' }, "Expected integer between 16 and 4096 for --size but received '8'"],
    [{ seed: '-1' }, "Expected integer between 0 and 4294967295 for --seed but received '-1'"],
    [{ latent: 'gaussian' }, "Expected one of normal, uniform for --latent but received 'gaussian'"],
    [{ format: 'png' }, "Expected one of webp, jpeg for --format but received 'png'"],
    [{ quality: '101' }, "Expected integer between 1 and 100 for --quality but received '101'"],
    [{ effort: '7' }, "Expected integer between 0 and 6 for --effort but received '7'"],
    [{ device: 'tpu' }, "Expected one of auto, cpu, cuda, webgpu for --device but received 'tpu'"],
    [{ range: '0,2' }, "Expected one of auto, -1,1, 0,1, 0,255 for --range but received '0,2'"],
    [{ resize: 'cubic' }, "Expected one of auto, nearest, lanczos3 for --resize but received 'cubic'"],
    [{ maxViewers: '0' }, "Expected integer between 1 and 1000000 for --max-viewers but received '0'"],
    [{ maxBufferedBytes: 10 }, 'Expected integer between 1024 and 1073741824 for --max-buffered-bytes but received 10'],
    [{ framesKept: 0 }, 'Expected integer between 1 and 100000 for --frames-kept but received 0'],
    [{ modelTimeout: 5 }, 'Expected integer between 100 and 600000 for --model-timeout but received 5'],
    [{ heartbeat: 'often' }, "Expected integer between 100 and 3600000 for --heartbeat but received 'often'"],
    [{ out: '' }, "Expected a non-empty string for --out but received ''"],
    [{ out: 'out/sampled.webp' }, "Expected a file path without extension, like out/sampled (it writes out/sampled.webp) for --out but received 'out/sampled.webp'"],
    [{ out: 'out/' }, "Expected a file path without extension, like out/sampled (it writes out/sampled.webp) for --out but received 'out/'"],
    [{ out: '.' }, "Expected a file path without extension, like out/sampled (it writes out/sampled.webp), not a folder for --out but received '.'"],
    [{ host: 5 }, 'Expected a non-empty string for --host but received 5'],
    [{ truncation: '2' }, "Expected number between 0 and 1.5 for --truncation but received '2'"],
    [{ truncation: 'half' }, "Expected number between 0 and 1.5 for --truncation but received 'half'"],
    [{ truncation: -0.1 }, 'Expected number between 0 and 1.5 for --truncation but received -0.1'],
    [{ walk: 'lerp' }, "Expected one of jump, slerp for --walk but received 'lerp'"],
    [{ keyframes: '1' }, "Expected integer between 2 and 1000000 for --keyframes but received '1'"],
    [{ batch: '0' }, "Expected 'auto' or an integer between 1 and 8 for --batch but received '0'"],
    [{ batch: 'max' }, "Expected 'auto' or an integer between 1 and 8 for --batch but received 'max'"],
    [{ batch: 2.5 }, "Expected 'auto' or an integer between 1 and 8 for --batch but received 2.5"],
    [{ batch: '64' }, "Expected 'auto' or an integer between 1 and 8 for --batch but received '64'"],
    [{ transport: 'uwebsockets' }, "Expected one of ws, uws, auto for --transport but received 'uwebsockets'"],
    [{ transport: 1 }, 'Expected one of ws, uws, auto for --transport but received 1'],
    [{ turbo: true }, 'Expected a known option for --turbo but received true'],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => resolveServeOptions(input as never), { code: 'ERR_INVALID_OPTION', message });
    });
  }
});

describe('CLI flags', () => {
  it('maps every flag to its option', () => {
    const { options } = parseServeArgs(['--port', '0', '--max-viewers', '5', '--model', 'x.onnx', '--latent=uniform']);
    assert.deepEqual(options, { port: '0', maxViewers: '5', model: 'x.onnx', latent: 'uniform' });
  });

  it('rejects unknown flags, positionals and missing values in one line', () => {
    assert.throws(() => parseServeArgs(['--prot', '80']), { message: 'Unknown option --prot (see tpdne serve --help)' });
    assert.throws(() => parseServeArgs(['--port']), { message: 'Option --port needs a value' });
    assert.throws(() => parseServeArgs(['stray']), (err: Error) => !err.message.includes('\n'));
  });

  it('--help documents every option with its default', () => {
    const help = serveHelp();
    for (const f of SERVE_FLAGS) {
      const line = help.split('\n').find((l) => l.startsWith(`  --${flagOf(f.key)} `));
      assert.ok(line, `--${flagOf(f.key)} is documented`);
      assert.match(line, /\(default: [^)]+\)$/);
    }
    assert.match(help, /--interval <ms> +milliseconds per image \(one slot\) \(default: 250\)/);
    assert.match(help, /--model <file\.onnx\|dir\|file\.json> .*\(default: builtin\)/);
    assert.match(help, /--truncation <psi> .*\(default: 0\.7\)/);
    assert.match(help, /--walk jump\|slerp .*\(default: jump\)/);
    assert.match(help, /--keyframes <n> .*\(default: 16\)/);
    assert.match(help, /--batch auto\|<n> .*\(default: auto\)/);
  });
});
