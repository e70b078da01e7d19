import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTpdne, type Tpdne } from '../../server/service.js';

/** The headers of a response, less Date (which changes by the second) and Connection/Keep-Alive. */
async function headersOf(url: string): Promise<{ status: number; headers: Record<string, string>; bytes: number }> {
  const res = await fetch(url);
  const headers = Object.fromEntries([...res.headers].filter(([k]) => !['date', 'connection', 'keep-alive'].includes(k)));
  return { status: res.status, headers, bytes: (await res.arrayBuffer()).byteLength };
}

describe('GET /image.webp fast path', () => {
  let server: Tpdne;
  before(async () => {
    server = await startTpdne({ port: 0, size: 64, generate: (slot) => ({ data: new Float32Array(3 * 8 * 8).fill((slot % 7) / 7), dims: [3, 8, 8] }), log: () => {} });
    while (!server.store.current()) await new Promise((r) => setTimeout(r, 20));
  });
  after(() => server.close());

  it('answers exactly as the full route does (same status, headers and bytes)', async () => {
    // Both within one slot, or retried: the frame must be the same for the comparison.
    for (let attempt = 0; attempt < 5; attempt++) {
      const slot = server.store.current()!.slot;
      const fast = await headersOf(`${server.url}/image.webp`);
      const routed = await headersOf(`${server.url}/image.webp?via=route`);
      if (server.store.current()!.slot !== slot) continue;
      assert.equal(fast.status, 200);
      assert.deepEqual(fast, routed);
      assert.equal(fast.headers['x-tpdne-slot'], String(slot));
      return;
    }
    assert.fail('the slot changed during every attempt');
  });
});
