import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveServeOptions, type ServeOptions } from '../../server/options.js';
import { parseServeArgs } from '../../server/cli/main.js';
import { serveHelp } from '../../server/cli/serve-flags.js';
import { serveCommand } from '../../server/deploy/serve-argv.js';
import { ErrorCodes, isTpdneError } from '../../server/errors.js';
import { tempDir } from '../helpers/models.js';

// A folder that the options step takes for a diffusion model: model_index.json is the
// marker (the graphs are checked when the model loads, not here).
let folder = '';
let promptFile = '';
let emptyFile = '';
let manyFile = '';
before(() => {
  const dir = tempDir('tpdne-diffusion-options-');
  folder = join(dir, 'sd');
  mkdirSync(folder);
  writeFileSync(join(folder, 'model_index.json'), '{}');
  promptFile = join(dir, 'prompts.txt');
  writeFileSync(promptFile, 'a red fox\r\n\n  an astronaut on a horse  \n');
  emptyFile = join(dir, 'empty.txt');
  writeFileSync(emptyFile, '\n \n');
  manyFile = join(dir, 'many.txt');
  writeFileSync(manyFile, Array.from({ length: 1001 }, (_, i) => `p${i}`).join('\n'));
});

describe('diffusion options', () => {
  it('collects --prompt values, then the --prompts file (trimmed, blank lines skipped); steps default 1', () => {
    const o = resolveServeOptions({ model: folder, prompt: ['a cat', 'a dog'], prompts: promptFile });
    assert.deepEqual(o.prompts, ['a cat', 'a dog', 'a red fox', 'an astronaut on a horse']);
    assert.equal(o.steps, 1);
    assert.ok(Object.isFrozen(o.prompts));
    assert.deepEqual(resolveServeOptions({ model: folder, prompt: 'one', steps: '2' }).prompts, ['one']);
    assert.equal(resolveServeOptions({ model: folder, prompt: 'one', steps: '2' }).steps, 2);
    // Without a diffusion model: no prompts, and nothing read.
    assert.deepEqual(resolveServeOptions({}).prompts, []);
  });

  it('rejects bad combinations and values at start, one line each', () => {
    const bad: [ServeOptions, string][] = [
      [{ prompt: 'a cat' }, "Expected a diffusion model folder (with model_index.json) for --model with --prompt but received 'builtin'"],
      [{ model: 'face.onnx', prompts: promptFile }, "Expected a diffusion model folder (with model_index.json) for --model with --prompts but received 'face.onnx'"],
      [{ steps: 2 }, "Expected a diffusion model folder (with model_index.json) for --model with --steps but received 'builtin'"],
      [{ model: folder }, `Expected at least one prompt (--prompt "…" or --prompts <file>) for the diffusion model '${folder}' but received none`],
      [{ model: folder, prompt: 'a cat', steps: 5 }, 'Expected integer between 1 and 4 for --steps but received 5'],
      [{ model: folder, prompt: 'a cat', steps: '0' }, "Expected integer between 1 and 4 for --steps but received '0'"],
      [{ model: folder, prompt: '' }, "Expected a non-empty string for --prompt but received ''"],
      [{ model: folder, prompt: '   ' }, "Expected a prompt that is not blank for --prompt but received '   '"],
      [{ model: folder, prompt: [] }, 'Expected a prompt (repeat --prompt for several) for --prompt but received object'],
      [{ model: folder, prompt: 'two\nlines' }, `Expected a prompt on one line, without control characters for --prompt but received '"two\\nlines"'`],
      [{ model: folder, prompts: '/nonexistent/prompts.txt' }, "Expected a readable file of prompts, one per line for --prompts but received '/nonexistent/prompts.txt'"],
      [{ model: folder, prompts: emptyFile }, `Expected a file with at least one prompt for --prompts but received '${emptyFile}'`],
      [{ model: folder, prompt: Array.from({ length: 1001 }, (_, i) => `p${i}`) }, "Expected at most 1000 prompts for --prompt but received '1001 prompts'"],
      [{ model: folder, prompts: manyFile }, "Expected at most 1000 prompts for --prompts but received '1001 prompts'"],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => resolveServeOptions({ ...options, log: () => {} }),
        (err: unknown) => isTpdneError(err, ErrorCodes.INVALID_OPTION) && err.message === message,
        message,
      );
    }
  });

  it('takes --prompt more than once on the command line, and documents all three flags', () => {
    const { options } = parseServeArgs(['--model', folder, '--prompt', 'a cat', '--prompt', 'a dog', '--steps', '2']);
    assert.deepEqual(options, { model: folder, prompt: ['a cat', 'a dog'], steps: '2' });
    const help = serveHelp();
    assert.match(help, /\n {2}--prompt <text> +with a diffusion model: a prompt; repeat for several.*\(default: off\)\n/);
    assert.match(help, /\n {2}--prompts <file> +.*\(default: off\)\n/);
    assert.match(help, /\n {2}--steps <1-4> +.*\(default: 1\)\n/);
  });

  it('writes each --prompt again for pm2 and systemd, with --prompts made absolute', () => {
    const command = serveCommand({ model: folder, prompt: ['a cat', 'a dog'], prompts: promptFile }, '/opt/tpdne/bin/tpdne.js', '/srv');
    assert.deepEqual(command.argv, ['/opt/tpdne/bin/tpdne.js', 'serve', '--model', folder, '--prompt', 'a cat', '--prompt', 'a dog', '--prompts', promptFile]);
    assert.equal(command.options.prompts.length, 4);
  });
});
