import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrameHeader, decodeFrameMessage, HEADER_LENGTH, type FrameHeader } from '../../client/shared/protocol.js';

const header: FrameHeader = { slot: 7_185_306_400, timestamp: 1_796_326_600_003.5, width: 512, height: 384, interval: 250, format: 'webp' };

function message(h: FrameHeader, image: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + image.length);
  out.set(encodeFrameHeader(h));
  out.set(image, HEADER_LENGTH);
  return out;
}

describe('stream protocol', () => {
  it('round-trips every header field and the image bytes', () => {
    const image = Uint8Array.of(1, 2, 3, 250);
    for (const h of [header, { ...header, format: 'jpeg' as const, slot: 0, width: 1, height: 65_536 }, { ...header, slot: 2 ** 53 - 1 }]) {
      const decoded = decodeFrameMessage(message(h, image));
      assert.deepEqual({ ...decoded, image: Array.from(decoded.image) }, { ...h, image: [1, 2, 3, 250] });
    }
  });

  it('has the documented layout', () => {
    const bytes = encodeFrameHeader(header);
    const view = new DataView(bytes.buffer);
    assert.equal(bytes.length, 32);
    assert.equal(view.getUint8(0), 1);
    assert.equal(view.getUint8(1), 1);
    assert.equal(view.getUint16(2, true), 32);
    assert.equal(view.getUint32(4, true), 512);
    assert.equal(view.getUint32(8, true), 384);
    assert.equal(view.getUint32(12, true), 250);
    assert.equal(view.getFloat64(16, true), 7_185_306_400);
    assert.equal(view.getFloat64(24, true), 1_796_326_600_003.5);
  });

  it('skips header bytes it does not know (longer headers from newer servers)', () => {
    const long = new Uint8Array(40 + 2);
    long.set(encodeFrameHeader(header));
    new DataView(long.buffer).setUint16(2, 40, true);
    long.set([9, 8], 40);
    assert.deepEqual(Array.from(decodeFrameMessage(long).image), [9, 8]);
  });

  it('decodes from an ArrayBuffer and from a Uint8Array view with an offset', () => {
    const m = message(header, Uint8Array.of(7));
    assert.equal(decodeFrameMessage(m.slice().buffer).slot, header.slot);
    const padded = new Uint8Array(m.length + 5);
    padded.set(m, 5);
    assert.equal(decodeFrameMessage(padded.subarray(5)).slot, header.slot);
  });

  const badMessages: [string, (m: Uint8Array) => Uint8Array][] = [
    ['too short', (m) => m.subarray(0, 31)],
    ['version 2', (m) => (m.set([2], 0), m)],
    ['format 9', (m) => (m.set([9], 1), m)],
    ['header length 8', (m) => (new DataView(m.buffer).setUint16(2, 8, true), m)],
    ['header length past the end', (m) => (new DataView(m.buffer).setUint16(2, 999, true), m)],
    ['negative slot', (m) => (new DataView(m.buffer).setFloat64(16, -1, true), m)],
    ['fractional slot', (m) => (new DataView(m.buffer).setFloat64(16, 1.5, true), m)],
    ['NaN slot', (m) => (new DataView(m.buffer).setFloat64(16, NaN, true), m)],
  ];
  for (const [name, corrupt] of badMessages) {
    it(`rejects a message with ${name} (ERR_PROTOCOL)`, () => {
      assert.throws(() => decodeFrameMessage(corrupt(message(header, Uint8Array.of(1)))), { code: 'ERR_PROTOCOL' });
    });
  }

  const badHeaders: [string, Partial<FrameHeader>][] = [
    ['a negative slot', { slot: -1 }],
    ['an unsafe slot', { slot: 2 ** 53 }],
    ['a width past uint32', { width: 2 ** 32 }],
    ['an unknown format', { format: 'gif' as never }],
    ['a NaN timestamp', { timestamp: NaN }],
  ];
  for (const [name, patch] of badHeaders) {
    it(`refuses to encode ${name}`, () => {
      assert.throws(() => encodeFrameHeader({ ...header, ...patch }), { code: 'ERR_PROTOCOL' });
    });
  }
});
