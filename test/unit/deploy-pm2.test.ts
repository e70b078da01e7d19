import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/models.js';
import { renderPm2Ecosystem, resolvePm2Options, type Pm2Options } from '../../server/deploy/pm2.js';
import { TPDNE_BIN } from '../../server/deploy/serve-argv.js';
import { ROOT } from '../helpers/paths.js';

/** Evaluates an ecosystem file as CommonJS, the way pm2 loads it. */
function load(text: string): { apps: Record<string, unknown>[] } {
  const module = { exports: {} as { apps: Record<string, unknown>[] } };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('module', 'exports', text)(module, module.exports);
  return module.exports;
}

describe('renderPm2Ecosystem', () => {
  // The model must exist: pm2 runs the file on this machine.
  const root = tempDir('tpdne-pm2-unit-');
  after(() => rmSync(root, { recursive: true, force: true }));
  const appDir = join(root, 'app');
  mkdirSync(join(appDir, 'models'), { recursive: true });
  writeFileSync(join(appDir, 'models', 'm.onnx'), 'stand-in');
  const quoted = join(root, 'it\'s "here"');
  mkdirSync(quoted);
  writeFileSync(join(quoted, 'a\\b.onnx'), 'stand-in');

  it('runs this tpdne with this node, the given serve options, MALLOC_ARENA_MAX=2, restarts and log files', () => {
    const options = resolvePm2Options({ cwd: appDir, node: '/opt/node/bin/node', serve: { port: '9000', model: 'models/m.onnx', latent: 'uniform' } });
    assert.deepEqual(load(renderPm2Ecosystem(options)), {
      apps: [
        {
          name: 'tpdne',
          script: TPDNE_BIN,
          args: ['serve', '--port', '9000', '--model', `${appDir}/models/m.onnx`, '--latent', 'uniform'],
          cwd: appDir,
          interpreter: '/opt/node/bin/node',
          exec_mode: 'fork',
          instances: 1,
          autorestart: true,
          exp_backoff_restart_delay: 100,
          kill_timeout: 15000,
          env: { NODE_ENV: 'production', MALLOC_ARENA_MAX: '2' },
          out_file: `${appDir}/logs/tpdne.out.log`,
          error_file: `${appDir}/logs/tpdne.err.log`,
          merge_logs: true,
          time: true,
        },
      ],
    });
  });

  it("defaults to this checkout's bin, the node running now and the current folder", () => {
    const [app] = load(renderPm2Ecosystem(resolvePm2Options({ name: 'dreams', logDir: '/var/log/dreams' }))).apps;
    assert.equal(app!['script'], `${ROOT}bin/tpdne.js`);
    assert.equal(app!['interpreter'], process.execPath);
    assert.equal(app!['cwd'], process.cwd());
    assert.deepEqual(app!['args'], ['serve']);
    assert.equal(app!['out_file'], '/var/log/dreams/dreams.out.log');
  });

  it('quotes any path safely (it is JavaScript)', () => {
    const [app] = load(renderPm2Ecosystem(resolvePm2Options({ cwd: quoted, serve: { model: 'a\\b.onnx' } }))).apps;
    assert.equal(app!['cwd'], quoted);
    assert.deepEqual(app!['args'], ['serve', '--model', `${quoted}/a\\b.onnx`]);
  });
});

describe('resolvePm2Options rejects bad input in one line', () => {
  const bad: [Pm2Options, string][] = [
    [{ name: '1st' }, "Expected a name of letters, digits, ., _ or - (at most 32, starting with a letter or _) for --name but received '1st'"],
    [{ name: 'a b' }, "Expected a name of letters, digits, ., _ or - (at most 32, starting with a letter or _) for --name but received 'a b'"],
    [{ logDir: '' }, "Expected a file path for --log-dir but received ''"],
    [{ serve: { interval: '5' } }, "Expected integer between 20 and 3600000 for --interval but received '5'"],
    [{ serve: { format: 'gif' } }, "Expected one of webp, jpeg for --format but received 'gif'"],
    [{ serve: { turbo: '1' } as never }, "Expected a known option for --turbo but received '1'"],
    [{ serve: { model: 'none.onnx' } }, "Expected an existing, readable model file or folder for --model but received '/srv/none.onnx'"],
    [{ instances: 4 } as Pm2Options, 'Expected a known option for --instances but received 4'],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => resolvePm2Options({ cwd: '/srv', ...input }), { code: 'ERR_INVALID_OPTION', message });
    });
  }
});
