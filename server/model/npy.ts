/**
 * A small, strict reader of NumPy `.npy` files (format versions 1, 2 and 3): float32,
 * float64 or int64, little-endian, C order. Anything else is refused with a reason
 * rather than guessed at: a constant read wrong would dream wrong images silently.
 */

export type NpyDtype = 'float32' | 'float64' | 'int64';

export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | BigInt64Array;
}

/** Why a buffer is not a .npy this reader accepts (the caller names the file and field). */
export class NpyError extends Error {
  override readonly name = 'NpyError';
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const DTYPES: Record<string, { dtype: NpyDtype; size: number }> = {
  '<f4': { dtype: 'float32', size: 4 },
  '<f8': { dtype: 'float64', size: 8 },
  '<i8': { dtype: 'int64', size: 8 },
};

function parseHeader(text: string): { descr: string; fortran: boolean; shape: number[] } {
  // The header is a Python dict literal NumPy writes itself, e.g.
  // {'descr': '<f4', 'fortran_order': False, 'shape': (1, 512), }
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new NpyError(`header is not a NumPy array header: ${text.trim().slice(0, 80)}`);
  const dims = shape[1]!
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '');
  if (!dims.every((d) => /^\d+$/.test(d))) throw new NpyError(`shape (${shape[1]}) is not a tuple of integers`);
  return { descr: descr[1]!, fortran: fortran[1] === 'True', shape: dims.map(Number) };
}

/** Parses a .npy file's bytes. Throws {@link NpyError} with the reason. */
export function readNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw new NpyError('not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new NpyError(`unsupported .npy format version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) throw new NpyError('header runs past the end of the file');
  const header = parseHeader(new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart)));
  const type = DTYPES[header.descr];
  if (!type) {
    throw new NpyError(`dtype '${header.descr}' (expected float32, float64 or int64, little-endian: '<f4', '<f8' or '<i8')`);
  }
  if (header.fortran) throw new NpyError('Fortran order (expected C order: save with np.ascontiguousarray)');
  const count = header.shape.reduce((a, b) => a * b, 1);
  const expected = count * type.size;
  const actual = bytes.length - dataStart;
  if (actual !== expected) {
    throw new NpyError(`data is ${actual} bytes but shape (${header.shape.join(', ')}) of ${header.descr} needs ${expected}`);
  }
  // Copy: the data offset need not be aligned for a typed array view (and a Buffer's
  // slice() is a view into a shared pool, not a copy).
  const copy = new Uint8Array(actual);
  copy.set(bytes.subarray(dataStart));
  const buffer = copy.buffer;
  const data =
    type.dtype === 'float32' ? new Float32Array(buffer) : type.dtype === 'float64' ? new Float64Array(buffer) : new BigInt64Array(buffer);
  return { dtype: type.dtype, shape: header.shape, data };
}

/** Writes a little-endian C-order .npy (version 1.0): for tests and tools. */
export function writeNpy(array: { shape: readonly number[]; data: Float32Array | Float64Array | BigInt64Array }): Uint8Array {
  const descr = array.data instanceof Float32Array ? '<f4' : array.data instanceof Float64Array ? '<f8' : '<i8';
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so the data starts on a 64-byte boundary, newline-terminated.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1) + '\n';
  const out = new Uint8Array(total + array.data.byteLength);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength), total);
  return out;
}
