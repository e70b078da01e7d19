import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readNpy, writeNpy, NpyError } from '../../server/model/npy.js';

/** A .npy with a hand-written header, to make the files NumPy writes that we refuse. */
function npy(header: string, data: Uint8Array, version = 1): Uint8Array {
  const head = new TextEncoder().encode(header + '\n');
  const pre = version === 1 ? 10 : 12;
  const out = new Uint8Array(pre + head.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, head.length, true);
  else view.setUint32(8, head.length, true);
  out.set(head, pre);
  out.set(data, pre + head.length);
  return out;
}

describe('readNpy', () => {
  it('round-trips float32, float64 and int64 arrays written by writeNpy', () => {
    const f32 = readNpy(writeNpy({ shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6.5) }));
    assert.equal(f32.dtype, 'float32');
    assert.deepEqual(f32.shape, [2, 3]);
    assert.deepEqual([...f32.data], [1, 2, 3, 4, 5, 6.5]);
    const f64 = readNpy(writeNpy({ shape: [1], data: Float64Array.of(Math.PI) }));
    assert.deepEqual([f64.dtype, f64.data[0]], ['float64', Math.PI]);
    const i64 = readNpy(writeNpy({ shape: [2], data: BigInt64Array.of(-3n, 1n << 40n) }));
    assert.deepEqual([i64.dtype, [...i64.data]], ['int64', [-3n, 1n << 40n]]);
  });

  it('reads version 2 headers, scalars and unaligned data offsets', () => {
    const data = new Uint8Array(Float32Array.of(7).buffer);
    const scalar = readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data, 2));
    assert.deepEqual([scalar.shape, [...scalar.data]], [[], [7]]);
    // A header of odd length puts the data at an odd offset.
    const odd = readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", data));
    assert.deepEqual([...odd.data], [7]);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['not a .npy', new TextEncoder().encode('hello, world'), /no \\x93NUMPY magic/],
    ['big-endian', npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), /dtype '>f4'/],
    ['float16', npy("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(4)), /dtype '<f2'/],
    ['int32', npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), /dtype '<i4'/],
    ['Fortran order', npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new Uint8Array(16)), /Fortran order/],
    ['truncated data', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", new Uint8Array(8)), /data is 8 bytes but shape \(3\) of <f4 needs 12/],
    ['a garbled header', npy('{"descr": 1}', new Uint8Array(0)), /not a NumPy array header/],
    ['version 9', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4), 9), /unsupported .npy format version 9/],
  ];
  for (const [name, bytes, pattern] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => readNpy(bytes), (err: unknown) => err instanceof NpyError && pattern.test(err.message));
    });
  }
});
