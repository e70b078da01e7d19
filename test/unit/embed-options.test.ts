import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveServeOptions } from '../../server/options.js';
import { parseServeArgs } from '../../server/cli/main.js';
import { serveHelp } from '../../server/cli/serve-flags.js';

describe('--allow-origin and --frame-ancestors', () => {
  it('default to * (any site)', () => {
    const o = resolveServeOptions({});
    assert.deepEqual(o.allowOrigin, ['*']);
    assert.deepEqual(o.frameAncestors, ['*']);
    assert.ok(Object.isFrozen(o.allowOrigin) && Object.isFrozen(o.frameAncestors));
  });

  const origins: [unknown, string[]][] = [
    ['*', ['*']],
    [' * ', ['*']],
    ['https://a.example', ['https://a.example']],
    ['https://A.Example/', ['https://a.example']],
    ['https://a.example:443', ['https://a.example']],
    ['http://127.0.0.1:5173, https://b.example', ['http://127.0.0.1:5173', 'https://b.example']],
    ['https://a.example,https://a.example', ['https://a.example']],
    [['https://a.example', 'http://localhost:3000'], ['https://a.example', 'http://localhost:3000']],
  ];
  for (const [input, expected] of origins) {
    it(`--allow-origin ${JSON.stringify(input)} is ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(resolveServeOptions({ allowOrigin: input as string }).allowOrigin, expected);
    });
  }

  const ancestors: [unknown, string[]][] = [
    ['*', ['*']],
    ["'self'", ["'self'"]],
    ['self', ["'self'"]],
    ['none', ["'none'"]],
    ["'self' https://a.example", ["'self'", 'https://a.example']],
    ['https://a.example,https://*.b.example', ['https://a.example', 'https://*.b.example']],
    ['https:', ['https:']],
    ['a.example:8443', ['a.example:8443']],
  ];
  for (const [input, expected] of ancestors) {
    it(`--frame-ancestors ${JSON.stringify(input)} is ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(resolveServeOptions({ frameAncestors: input as string }).frameAncestors, expected);
    });
  }

  const ORIGINS = "'*' or a comma list of origins like https://example.com";
  const SOURCES = "frame-ancestors sources like * 'self' 'none' https://example.com";
  const bad: [Record<string, unknown>, string][] = [
    [{ allowOrigin: '' }, `Expected ${ORIGINS} for --allow-origin but received ''`],
    [{ allowOrigin: ' , ' }, `Expected ${ORIGINS} for --allow-origin but received ' , '`],
    [{ allowOrigin: 'a.example' }, `Expected ${ORIGINS} for --allow-origin but received 'a.example'`],
    [{ allowOrigin: 'https://a.example/path' }, `Expected ${ORIGINS} for --allow-origin but received 'https://a.example/path'`],
    [{ allowOrigin: 'https://a.example?q' }, `Expected ${ORIGINS} for --allow-origin but received 'https://a.example?q'`],
    [{ allowOrigin: 'https://user@a.example' }, `Expected ${ORIGINS} for --allow-origin but received 'https://user@a.example'`],
    [{ allowOrigin: 'ftp://a.example' }, `Expected ${ORIGINS} for --allow-origin but received 'ftp://a.example'`],
    [{ allowOrigin: '*,https://a.example' }, `Expected ${ORIGINS} for --allow-origin but received '*,https://a.example'`],
    [{ allowOrigin: 5 }, `Expected ${ORIGINS} for --allow-origin but received 5`],
    [{ allowOrigin: [1] }, `Expected ${ORIGINS} for --allow-origin but received object`],
    [{ frameAncestors: '' }, `Expected ${SOURCES} for --frame-ancestors but received ''`],
    [{ frameAncestors: "'none' 'self'" }, `Expected ${SOURCES} for --frame-ancestors but received ''none' 'self''`],
    [{ frameAncestors: 'https://a.example/path' }, `Expected ${SOURCES} for --frame-ancestors but received 'https://a.example/path'`],
    [{ frameAncestors: "'unsafe-inline'" }, `Expected ${SOURCES} for --frame-ancestors but received ''unsafe-inline''`],
    [{ frameAncestors: 'a;b' }, `Expected ${SOURCES} for --frame-ancestors but received 'a;b'`],
    [{ frameAncestors: true }, `Expected ${SOURCES} for --frame-ancestors but received true`],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => resolveServeOptions(input as never), { code: 'ERR_INVALID_OPTION', message });
    });
  }

  it('come from the CLI and are documented in --help', () => {
    const { options } = parseServeArgs(['--allow-origin', 'https://a.example', '--frame-ancestors', "'self'"]);
    assert.deepEqual(options, { allowOrigin: 'https://a.example', frameAncestors: "'self'" });
    assert.match(serveHelp(), /\n {2}--allow-origin <origins> +.*\(default: \*\)\n/);
    assert.match(serveHelp(), /\n {2}--frame-ancestors <sources> +who may frame \/embed.*\(default: \*\)\n/);
  });
});
