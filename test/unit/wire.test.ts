import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createFrame } from '../../server/frames/frame.js';
import { frameMessage } from '../../server/stream/message.js';
import { binaryFrameHeader, wireFrame } from '../../server/stream/wire.js';

// ws's own framing, the reference (its Sender is not in the type definitions).
const Sender = (createRequire(import.meta.url)('ws') as { Sender: unknown }).Sender as {
  frame(data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[];
};
const frame = (bytes: number, slot = 9) =>
  createFrame({ slot, createdAt: 1_700_000_000_000, width: 4, height: 4, format: 'webp', bytes: Buffer.alloc(bytes, 7) });

describe('wire frame', () => {
  // Message lengths 32, 125, 126, 65535, 65536 and past: every length encoding and its edges.
  for (const imageBytes of [0, 93, 94, 65_503, 65_504, 200_000]) {
    it(`frames a ${imageBytes + 32}-byte message exactly as ws's Sender does`, () => {
      const f = frame(imageBytes);
      const message = frameMessage(f, 250);
      const expected = Buffer.concat(Sender.frame(message, { fin: true, rsv1: false, opcode: 2, mask: false, readOnly: false }));
      assert.deepEqual(wireFrame(f, 250), expected);
    });
  }

  it('is built once per frame: the same Buffer every call, and the right one for each frame', () => {
    const f = frame(1000);
    const g = frame(1000, 10);
    const wire = wireFrame(f, 250);
    assert.equal(wireFrame(f, 250), wire);
    assert.notEqual(wireFrame(g, 250), wire);
    assert.deepEqual(wireFrame(f, 250), wire);
    assert.deepEqual(wireFrame(f, 250).subarray(-1000), f.bytes);
  });

  it('writes the header table of RFC 6455 5.2', () => {
    assert.deepEqual([...binaryFrameHeader(0)], [0x82, 0]);
    assert.deepEqual([...binaryFrameHeader(125)], [0x82, 125]);
    assert.deepEqual([...binaryFrameHeader(126)], [0x82, 126, 0, 126]);
    assert.deepEqual([...binaryFrameHeader(65_535)], [0x82, 126, 0xff, 0xff]);
    assert.deepEqual([...binaryFrameHeader(65_536)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  });
});
