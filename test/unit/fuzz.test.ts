import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tensorToRgb } from '../../server/image/tensor.js';
import { TpdneError, ErrorCodes } from '../../server/errors.js';
import { encodeFrameHeader, decodeFrameMessage, HEADER_LENGTH, ProtocolError } from '../../client/shared/protocol.js';

describe('property: tensor converter', () => {
  it('either returns a well-formed RGB image or throws a TpdneError with a shape/non-finite code', () => {
    const dims = fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 0, maxLength: 5 });
    fc.assert(
      fc.property(dims, fc.boolean(), fc.constantFrom('auto', '-1,1', '0,1', '0,255') as fc.Arbitrary<'auto'>, fc.double({ noNaN: false }), (shape, exact, range, fill) => {
        const count = shape.reduce((a, b) => a * b, 1);
        const length = exact ? count : count + 1;
        const data = new Float32Array(Math.min(length, 5000)).map((_, i) => (i % 7 === 3 ? fill : Math.sin(i)));
        try {
          const rgb = tensorToRgb({ data, dims: shape }, { range });
          assert.equal(rgb.data.length, rgb.width * rgb.height * 3);
          assert.ok(rgb.width >= 2 && rgb.height >= 2);
          assert.ok(['-1,1', '0,1', '0,255'].includes(rgb.range));
        } catch (err) {
          assert.ok(err instanceof TpdneError, String(err));
          assert.ok(err.code === ErrorCodes.TENSOR_SHAPE || err.code === ErrorCodes.TENSOR_NONFINITE, err.code);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('maps any finite [-1, 1] tensor to bytes that invert within one step', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 12, maxLength: 12 }), (values) => {
        const data = Float32Array.from(values);
        data[0] = -1; // forces [-1, 1] detection
        const rgb = tensorToRgb({ data, dims: [1, 3, 2, 2] });
        for (let c = 0; c < 3; c++) {
          for (let p = 0; p < 4; p++) {
            const byte = rgb.data[p * 3 + c]!;
            assert.ok(Math.abs(byte / 127.5 - 1 - data[c * 4 + p]!) <= 1 / 127.5 + 1e-6);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('property: stream header codec', () => {
  const header = fc.record({
    slot: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    timestamp: fc.double({ noNaN: true, noDefaultInfinity: true }),
    width: fc.integer({ min: 0, max: 0xffffffff }),
    height: fc.integer({ min: 0, max: 0xffffffff }),
    interval: fc.integer({ min: 0, max: 0xffffffff }),
    format: fc.constantFrom('webp' as const, 'jpeg' as const),
  });

  it('round-trips every valid header with any payload', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), (h, image) => {
        const message = new Uint8Array(HEADER_LENGTH + image.length);
        message.set(encodeFrameHeader(h));
        message.set(image, HEADER_LENGTH);
        const decoded = decodeFrameMessage(message);
        assert.deepEqual({ ...decoded, image: [...decoded.image] }, { ...h, timestamp: Object.is(h.timestamp, -0) ? -0 : h.timestamp, image: [...image] });
      }),
      { numRuns: 3000 },
    );
  });

  it('decodes arbitrary bytes to a frame or a ProtocolError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          const frame = decodeFrameMessage(bytes);
          assert.ok(Number.isSafeInteger(frame.slot) && frame.slot >= 0);
          assert.ok(frame.image.byteLength <= bytes.byteLength - HEADER_LENGTH);
        } catch (err) {
          assert.ok(err instanceof ProtocolError, String(err));
        }
      }),
      { numRuns: 5000 },
    );
  });
});
