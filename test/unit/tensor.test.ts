import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tensorToRgb, imageGeometry } from '../../server/image/tensor.js';
import { ErrorCodes, type ErrorCode } from '../../server/errors.js';

/** A 2x2 image whose pixels are (r,g,b) = (p, 10+p, 20+p) in 0-255 units, laid out as asked. */
function tensor(layout: 'nchw' | 'nhwc', channels: 1 | 3 | 4, map: (v: number) => number, batch = 1) {
  const plane = 4;
  const data = new Float32Array(batch * plane * channels);
  for (let b = 0; b < batch; b++) {
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < channels; c++) {
        const v = map(p * 60 + c * 10 + b * 5);
        const i = layout === 'nchw' ? b * plane * channels + c * plane + p : b * plane * channels + p * channels + c;
        data[i] = v;
      }
    }
  }
  return data;
}

const expected = (channels: 1 | 3 | 4, batchIndex = 0) =>
  Array.from({ length: 4 }, (_, p) =>
    channels === 1 ? [0, 0, 0].map(() => p * 60 + batchIndex * 5) : [0, 1, 2].map((c) => p * 60 + c * 10 + batchIndex * 5),
  ).flat();

describe('tensorToRgb', () => {
  const ranges = [
    { name: '[0,255]', range: '0,255', map: (v: number) => v },
    { name: '[0,1]', range: '0,1', map: (v: number) => v / 255 },
    { name: '[-1,1]', range: '-1,1', map: (v: number) => v / 127.5 - 1 },
  ] as const;
  for (const { name, range, map } of ranges) {
    for (const layout of ['nchw', 'nhwc'] as const) {
      for (const channels of [1, 3, 4] as const) {
        it(`reads ${layout.toUpperCase()} with ${channels} channel(s) in ${name}`, () => {
          const dims = layout === 'nchw' ? [1, channels, 2, 2] : [1, 2, 2, channels];
          const rgb = tensorToRgb({ data: tensor(layout, channels, map), dims }, { range: 'auto' });
          assert.equal(rgb.width, 2);
          assert.equal(rgb.height, 2);
          // [0,1] data whose max is 0.96 is detected as [0,1]; [-1,1] data has negatives.
          assert.equal(rgb.range, range);
          assert.deepEqual(Array.from(rgb.data), expected(channels));
        });
      }
    }
  }

  it('takes the requested image of a batch', () => {
    const rgb = tensorToRgb({ data: tensor('nchw', 3, (v) => v, 2), dims: [2, 3, 2, 2] }, { index: 1, range: '0,255' });
    assert.deepEqual(Array.from(rgb.data), expected(3, 1));
  });

  it('accepts 3-d CHW and HWC and 2-d grey, and `shape` instead of `dims`', () => {
    assert.deepEqual(Array.from(tensorToRgb({ data: tensor('nchw', 3, (v) => v), shape: [3, 2, 2] }, { range: '0,255' }).data), expected(3));
    assert.deepEqual(Array.from(tensorToRgb({ data: tensor('nhwc', 3, (v) => v), dims: [2, 2, 3] }, { range: '0,255' }).data), expected(3));
    assert.deepEqual(Array.from(tensorToRgb({ data: tensor('nhwc', 1, (v) => v), dims: [2, 2] }, { range: '0,255' }).data), expected(1));
  });

  it('clamps out-of-range values and honours a forced range', () => {
    const rgb = tensorToRgb({ data: Float32Array.of(-3, 0, 0.5, 9), dims: [2, 2] }, { range: '0,1' });
    assert.deepEqual(Array.from(rgb.data), [0, 0, 0, 0, 0, 0, 128, 128, 128, 255, 255, 255]);
  });

  it('reads uint8 data as [0,255]', () => {
    const rgb = tensorToRgb({ data: Uint8Array.of(0, 50, 100, 200), dims: [2, 2] });
    assert.equal(rgb.range, '0,255');
    assert.deepEqual(Array.from(rgb.data), [0, 0, 0, 50, 50, 50, 100, 100, 100, 200, 200, 200]);
  });

  const bad: { name: string; input: unknown; code: ErrorCode; message?: RegExp }[] = [
    { name: 'NaN', input: { data: Float32Array.of(0, NaN, 0, 0), dims: [2, 2] }, code: ErrorCodes.TENSOR_NONFINITE },
    { name: 'Infinity', input: { data: Float32Array.of(0, 0, Infinity, 0), dims: [2, 2] }, code: ErrorCodes.TENSOR_NONFINITE },
    { name: '-Infinity', input: { data: Float32Array.of(-Infinity, 0, 0, 0), dims: [2, 2] }, code: ErrorCodes.TENSOR_NONFINITE },
    { name: '1-d', input: { data: new Float32Array(12), dims: [12] }, code: ErrorCodes.TENSOR_SHAPE, message: /\[12\]/ },
    { name: '5-d', input: { data: new Float32Array(12), dims: [1, 1, 3, 2, 2] }, code: ErrorCodes.TENSOR_SHAPE, message: /\[1, 1, 3, 2, 2\]/ },
    { name: '2 channels', input: { data: new Float32Array(50), dims: [1, 2, 5, 5] }, code: ErrorCodes.TENSOR_SHAPE, message: /\[1, 2, 5, 5\]/ },
    { name: '5 channels', input: { data: new Float32Array(150), dims: [1, 5, 6, 5] }, code: ErrorCodes.TENSOR_SHAPE },
    { name: 'a vector [1, 7]', input: { data: new Float32Array(7), dims: [1, 7] }, code: ErrorCodes.TENSOR_SHAPE, message: /2x2/ },
    { name: 'length mismatch', input: { data: new Float32Array(5), dims: [2, 2] }, code: ErrorCodes.TENSOR_SHAPE, message: /5 values/ },
    { name: 'zero dimension', input: { data: new Float32Array(0), dims: [1, 3, 0, 4] }, code: ErrorCodes.TENSOR_SHAPE },
    { name: 'no dims', input: { data: new Float32Array(4) }, code: ErrorCodes.TENSOR_SHAPE },
    { name: 'not a tensor', input: { dims: [2, 2] }, code: ErrorCodes.TENSOR_SHAPE },
  ];
  for (const { name, input, code, message } of bad) {
    it(`rejects ${name} with ${code}`, () => {
      assert.throws(
        () => tensorToRgb(input as never),
        (err: { code?: string; message: string }) => err.code === code && (!message || message.test(err.message)),
      );
    });
  }

  it('rejects a batch index outside the batch', () => {
    assert.throws(() => tensorToRgb({ data: new Float32Array(12), dims: [1, 3, 2, 2] }, { index: 1 }), { code: ErrorCodes.TENSOR_SHAPE });
  });
});

describe('imageGeometry', () => {
  const table: [number[], string][] = [
    [[1, 3, 64, 32], 'nchw 3 64x32'],
    [[1, 64, 32, 3], 'nhwc 3 64x32'],
    [[4, 1, 8, 8], 'nchw 1 8x8'],
    [[3, 4, 4], 'nchw 3 4x4'],
    [[16, 16, 4], 'nhwc 4 16x16'],
  ];
  for (const [dims, want] of table) {
    it(`reads [${dims.join(', ')}] as ${want}`, () => {
      const g = imageGeometry(dims);
      assert.equal(`${g.layout} ${g.channels} ${g.height}x${g.width}`, want);
    });
  }
  it('honours a forced layout', () => {
    assert.equal(imageGeometry([1, 3, 3, 3], 'nhwc').layout, 'nhwc');
    assert.equal(imageGeometry([1, 3, 3, 3]).layout, 'nchw');
  });
});
