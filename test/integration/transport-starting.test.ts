import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveServeOptions } from '../../server/options.js';
import { startTransport } from '../../server/stream/transport.js';

// Before the model has loaded, the port is already bound: a probe must be able to read
// `status` from /healthz then, as later, and every answer carries the base headers.
for (const name of ['ws', 'uws'] as const) {
  describe(`${name} transport while the model loads`, () => {
    it('answers /healthz with 503 and JSON status "starting", and other paths with 503 text', async () => {
      const transport = await startTransport(resolveServeOptions({ port: 0, transport: name, log: () => {} }));
      try {
        assert.equal(transport.name, name);
        const base = `http://127.0.0.1:${transport.port}`;
        const health = await fetch(base + '/healthz');
        assert.equal(health.status, 503);
        assert.equal(health.headers.get('content-type'), 'application/json');
        assert.equal(health.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(health.headers.get('retry-after'), '1');
        assert.deepEqual(await health.json(), { status: 'starting', reason: 'the model is loading' });
        const page = await fetch(base + '/healthz-not?x');
        assert.equal(page.status, 503);
        assert.equal(page.headers.get('content-type'), 'text/plain; charset=utf-8');
        assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(await page.text(), 'Starting\n');
      } finally {
        await transport.close();
      }
    });
  });
}
