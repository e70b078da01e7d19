import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createFrameStore } from '../../server/frames/store.js';
import { createFrame } from '../../server/frames/frame.js';

const frame = (slot: number, byte = slot) =>
  createFrame({ slot, createdAt: slot * 250, width: 2, height: 2, format: 'webp', bytes: Buffer.from([byte]) });

describe('frame store', () => {
  it('keeps the current frame and a bounded ring by slot', () => {
    const store = createFrameStore(3);
    assert.equal(store.current(), null);
    for (let s = 10; s < 15; s++) assert.equal(store.publish(frame(s)), true);
    assert.equal(store.current()?.slot, 14);
    assert.equal(store.size, 3);
    assert.equal(store.get(11), undefined);
    assert.equal(store.get(12)?.slot, 12);
  });

  it('ignores stale and duplicate slots', () => {
    const store = createFrameStore(5);
    store.publish(frame(5));
    assert.equal(store.publish(frame(5, 99)), false);
    assert.equal(store.publish(frame(4)), false);
    assert.deepEqual([...store.current()!.bytes], [5]);
  });

  it('tells subscribers, and unsubscribe stops it', () => {
    const store = createFrameStore(5);
    const seen: number[] = [];
    const off = store.subscribe((f) => seen.push(f.slot));
    store.publish(frame(1));
    off();
    off();
    store.publish(frame(2));
    assert.deepEqual(seen, [1]);
  });

  it('gives frames a strong ETag from slot and bytes, and freezes them', () => {
    const a = frame(7, 1);
    assert.match(a.etag, /^"7-[\w-]{12}"$/);
    assert.notEqual(a.etag, frame(7, 2).etag);
    assert.equal(a.etag, frame(7, 1).etag);
    assert.ok(Object.isFrozen(a));
  });
});
