import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startTestServer, connectViewer, waitForFrame } from '../helpers/server.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/redis.js';
import { tempDir } from '../helpers/models.js';

/** The one seam: the module the uws transport imports (see server/stream/uws-loader.ts). */
const SEAM = 'TPDNE_UWS_MODULE';
const MISSING = 'uWebSockets.js-not-installed';

function withUwsModule(specifier: string): void {
  process.env[SEAM] = specifier;
}

describe('--transport: choosing and loading uWebSockets.js', () => {
  afterEach(() => {
    delete process.env[SEAM];
  });

  it('auto takes uws when it loads, and logs nothing about it', async () => {
    const server = await startTestServer({ transport: 'auto', size: 32 });
    try {
      assert.equal(server.transport, 'uws');
      assert.equal(server.health().transport, 'uws');
      assert.deepEqual(server.logs.filter((line) => /transport|uWebSockets/.test(line)), []);
    } finally {
      await server.close();
    }
  });

  it('auto falls back to ws with exactly one log line when uws cannot load', async () => {
    withUwsModule(MISSING);
    const server = await startTestServer({ transport: 'auto', size: 32 });
    try {
      assert.equal(server.transport, 'ws');
      assert.equal(server.health().transport, 'ws');
      const lines = server.logs.filter((line) => /transport|uWebSockets/.test(line));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /^tpdne: --transport auto: uWebSockets\.js did not load \(Cannot find package 'uWebSockets\.js-not-installed' imported from .+\); using ws$/);
      // And it serves: the stream works on the fallback.
      await waitForFrame(server);
      const viewer = await connectViewer(server.url);
      await viewer.until(1);
      await viewer.close();
    } finally {
      await server.close();
    }
  });

  it('uws fails at start, before binding, when it cannot load', async () => {
    withUwsModule(MISSING);
    const port = await freePort();
    await assert.rejects(startTestServer({ transport: 'uws', port }), {
      code: 'ERR_TRANSPORT_UNAVAILABLE',
      message: /^Expected uWebSockets\.js to load for --transport uws but it did not: Cannot find package 'uWebSockets\.js-not-installed' imported from .+ \(see README "uWebSockets\.js", or use --transport ws\)$/,
    });
    // Nothing was left listening on the port.
    const server = await startTestServer({ transport: 'ws', port, size: 32 });
    assert.equal(server.port, port);
    await server.close();
  });

  // A uws server must refuse a port in use whoever holds it: without an exclusive bind, a
  // second uws server would share the port (SO_REUSEPORT) and split the traffic.
  for (const holder of ['ws', 'uws'] as const) {
    it(`uws fails at start on a port a ${holder} server already holds`, async () => {
      // A fixed port: the kernel never shares one first bound as port 0, which would hide the bug.
      const taken = await startTestServer({ transport: holder, port: await freePort(), size: 32 });
      try {
        await assert.rejects(startTestServer({ transport: 'uws', port: taken.port }), {
          code: 'ERR_PORT_IN_USE',
          message: `Cannot listen on 127.0.0.1:${taken.port} with uWebSockets.js: in use or not a local address (try --port or --host)`,
        });
      } finally {
        await taken.close();
      }
    });
  }

  it('refuses a JavaScript imitation of uWebSockets.js', async () => {
    const fake = join(tempDir(), 'fake-uws.mjs');
    writeFileSync(fake, 'export function App() { return {}; }\n');
    withUwsModule(pathToFileURL(fake).href);
    await assert.rejects(startTestServer({ transport: 'uws' }), {
      code: 'ERR_TRANSPORT_UNAVAILABLE',
      message: /: what loaded is not the native uWebSockets\.js \(a JavaScript fallback\?\) \(see README/,
    });
  });

  it('the CLI rejects a bad --transport in one line', async () => {
    const result = await runCli(['serve', '--transport', 'foo']);
    assert.equal(result.stderr, "tpdne: Expected one of ws, uws, auto for --transport but received 'foo'\n");
    assert.equal(result.code, 1);
  });

  it('the CLI fails in one line, exit 1, when --transport uws cannot load', async () => {
    const result = await runCli(['serve', '--transport', 'uws', '--port', '0', '--size', '32'], 20_000, { [SEAM]: MISSING });
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /^tpdne: Expected uWebSockets\.js to load for --transport uws but it did not: Cannot find package 'uWebSockets\.js-not-installed'/);
    assert.equal(result.code, 1);
  });
});
