import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createFrame } from '../../server/frames/frame.js';
import { createFrameHeaders } from '../../server/http/frame-headers.js';

const frame = (slot: number) => createFrame({ slot, createdAt: 1_700_000_000_250, width: 2, height: 2, format: 'webp', bytes: Buffer.alloc(300, slot) });
const headers = createFrameHeaders({
  type: 'image/webp',
  pointer: { 'Cache-Control': 'public, max-age=0' },
  immutable: { 'Cache-Control': 'immutable' },
  cors: { 'Access-Control-Allow-Origin': '*' },
  base: { 'X-Content-Type-Options': 'nosniff' },
});

describe('frame headers', () => {
  it('makes the 200 and 304 headers of a frame', () => {
    const f = frame(7);
    const shared = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'public, max-age=0', 'X-Tpdne-Slot': '7', 'Cross-Origin-Resource-Policy': 'cross-origin', 'Access-Control-Allow-Origin': '*', ETag: f.etag, 'Last-Modified': 'Tue, 14 Nov 2023 22:13:20 GMT' };
    assert.deepEqual(headers.get(f, false).notModified, shared);
    assert.deepEqual(headers.get(f, false).ok, { 'Content-Type': 'image/webp', ...shared, 'Content-Length': 300 });
    assert.equal(headers.get(f, true).ok['Cache-Control'], 'immutable');
  });

  it('builds them once per frame and kind, and shares them', () => {
    const f = frame(8);
    assert.equal(headers.get(f, false), headers.get(f, false));
    assert.equal(headers.get(f, true), headers.get(f, true));
    assert.notEqual(headers.get(f, false), headers.get(f, true));
    assert.notEqual(headers.get(frame(9), false).ok['ETag'], headers.get(f, false).ok['ETag']);
    assert.ok(Object.isFrozen(headers.get(f, false).ok));
  });

  it("uses a request's own CORS headers instead of the shared ones, without caching them", () => {
    const f = frame(10);
    const own = headers.get(f, false, { Vary: 'Origin' });
    assert.equal(own.ok['Vary'], 'Origin');
    assert.equal(own.ok['Access-Control-Allow-Origin'], undefined);
    assert.equal(headers.get(f, false).ok['Access-Control-Allow-Origin'], '*');
    assert.notEqual(headers.get(f, false, { Vary: 'Origin' }), own);
  });
});
