import { TpdneError, ErrorCodes } from '../errors.js';

/** Anything with numeric data and a shape: an onnxruntime Tensor, or a plain object. */
export interface TensorLike {
  readonly data: ArrayLike<number>;
  readonly dims?: readonly number[];
  readonly shape?: readonly number[];
}

export type Layout = 'auto' | 'nchw' | 'nhwc';
export type Range = 'auto' | '-1,1' | '0,1' | '0,255';

export interface ConvertOptions {
  /** Channel layout; `auto` decides from where the 1/3/4-sized axis is. Default `auto`. */
  layout?: Layout;
  /** Value range; `auto` detects it from the values. Default `auto`. */
  range?: Range;
  /** Which image of a batch. Default `0`. */
  index?: number;
}

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** The range the values were read as (what `auto` detected). */
  readonly range: Exclude<Range, 'auto'>;
}

export interface ImageGeometry {
  readonly batch: number;
  readonly channels: 1 | 3 | 4;
  readonly height: number;
  readonly width: number;
  readonly layout: 'nchw' | 'nhwc';
}

const isChannels = (n: number | undefined): n is 1 | 3 | 4 => n === 1 || n === 3 || n === 4;

function shapeError(dims: readonly number[], why: string): TpdneError {
  return new TpdneError(ErrorCodes.TENSOR_SHAPE, `Cannot read tensor of shape [${dims.join(', ')}] as an image: ${why}`);
}

/**
 * Reads an image geometry from a tensor shape: [H, W], [C, H, W], [H, W, C],
 * [N, C, H, W] or [N, H, W, C] with C in {1, 3, 4}. Throws ERR_TENSOR_SHAPE otherwise.
 */
export function imageGeometry(dims: readonly number[], layout: Layout = 'auto'): ImageGeometry {
  if (!dims.every((d) => Number.isInteger(d) && d > 0)) throw shapeError(dims, 'dimensions must be positive integers');
  let batch = 1;
  let rest = [...dims];
  if (rest.length === 4) {
    batch = rest[0]!;
    rest = rest.slice(1);
  } else if (rest.length === 2) {
    if (rest[0]! < 2 || rest[1]! < 2) throw shapeError(dims, 'image smaller than 2x2');
    return { batch, channels: 1, height: rest[0]!, width: rest[1]!, layout: 'nhwc' };
  } else if (rest.length !== 3) {
    throw shapeError(dims, 'expected 2, 3 or 4 dimensions');
  }
  const [a, b, c] = rest as [number, number, number];
  let chosen: 'nchw' | 'nhwc';
  if (layout !== 'auto') chosen = layout;
  else if (isChannels(a) && !isChannels(c)) chosen = 'nchw';
  else if (isChannels(c) && !isChannels(a)) chosen = 'nhwc';
  else if (isChannels(a)) chosen = 'nchw'; // both fit (tiny images): PyTorch's convention wins
  else throw shapeError(dims, 'no axis of 1, 3 or 4 channels');
  const channels = chosen === 'nchw' ? a : c;
  if (!isChannels(channels)) throw shapeError(dims, `${channels} channels (expected 1, 3 or 4)`);
  const [height, width] = chosen === 'nchw' ? [b, c] : [a, b];
  if (width < 2 || height < 2) throw shapeError(dims, 'image smaller than 2x2');
  return { batch, channels, height, width, layout: chosen };
}

function detectRange(min: number, max: number): Exclude<Range, 'auto'> {
  if (min < -1e-3) return '-1,1';
  if (max > 1 + 1e-3) return '0,255';
  return '0,1';
}

/**
 * The one converter from a model's output tensor to RGB8: handles the batch dimension,
 * NCHW/NHWC, 1/3/4 channels (grey is replicated, alpha dropped) and the three usual value
 * ranges. NaN or Infinity throws ERR_TENSOR_NONFINITE: such a frame is never published.
 */
export function tensorToRgb(tensor: TensorLike, options: ConvertOptions = {}): RgbImage {
  const dims = tensor.dims ?? tensor.shape;
  if (!dims || !tensor.data || typeof tensor.data.length !== 'number') {
    throw new TpdneError(ErrorCodes.TENSOR_SHAPE, 'Expected a tensor with data and dims (or shape)');
  }
  const geometry = imageGeometry(dims, options.layout ?? 'auto');
  const { batch, channels, height, width, layout } = geometry;
  const index = options.index ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= batch) {
    throw shapeError(dims, `batch index ${index} out of range`);
  }
  const plane = width * height;
  const perImage = plane * channels;
  if (tensor.data.length !== perImage * batch) {
    throw shapeError(dims, `data has ${tensor.data.length} values, shape needs ${perImage * batch}`);
  }
  const src = tensor.data;
  const base = perImage * index;
  // Pass 1: finite check and range detection over this image only.
  let min = Infinity;
  let max = -Infinity;
  for (let i = base; i < base + perImage; i++) {
    const v = src[i]!;
    if (!Number.isFinite(v)) {
      throw new TpdneError(ErrorCodes.TENSOR_NONFINITE, `Tensor holds ${v} at index ${i}; frame dropped`);
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = !options.range || options.range === 'auto' ? detectRange(min, max) : options.range;
  // value * scale + offset maps the range onto [0, 255]; Uint8ClampedArray rounds and clamps.
  const scale = range === '-1,1' ? 127.5 : range === '0,1' ? 255 : 1;
  const offset = range === '-1,1' ? 127.5 : 0;
  const out = new Uint8ClampedArray(plane * 3);
  // Grey replicates channel 0 into R, G and B; RGBA drops A.
  const c1 = channels === 1 ? 0 : 1;
  const c2 = channels === 1 ? 0 : 2;
  if (layout === 'nchw') {
    for (let p = 0; p < plane; p++) {
      const o = p * 3;
      out[o] = src[base + p]! * scale + offset;
      out[o + 1] = src[base + c1 * plane + p]! * scale + offset;
      out[o + 2] = src[base + c2 * plane + p]! * scale + offset;
    }
  } else {
    for (let p = 0; p < plane; p++) {
      const o = p * 3;
      const s = base + p * channels;
      out[o] = src[s]! * scale + offset;
      out[o + 1] = src[s + c1]! * scale + offset;
      out[o + 2] = src[s + c2]! * scale + offset;
    }
  }
  return { data: new Uint8Array(out.buffer), width, height, range };
}
