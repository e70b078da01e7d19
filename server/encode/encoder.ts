import sharp from 'sharp';
import { TpdneError, ErrorCodes, describeError } from '../errors.js';
import type { ImageFormat, ResizeKernel, ResolvedServeOptions } from '../options.js';
import type { RgbImage } from '../image/tensor.js';

export interface EncodedImage {
  readonly bytes: Buffer;
  readonly width: number;
  readonly height: number;
  readonly format: ImageFormat;
}

export type EncoderOptions = Pick<ResolvedServeOptions, 'format' | 'quality' | 'effort' | 'resize'> & {
  /** Longer output edge in pixels; null keeps each image's own size. */
  size: number | null;
};

export interface Encoder {
  readonly format: ImageFormat;
  encode(image: RgbImage): Promise<EncodedImage>;
}

// Keep libvips from caching decoded images: every frame is new, a cache only grows.
sharp.cache(false);

/** Nearest-neighbour keeps pixel art crisp when a small model is blown up 2x or more. */
export function chooseKernel(kernel: ResizeKernel, from: number, to: number): 'nearest' | 'lanczos3' {
  if (kernel !== 'auto') return kernel;
  return to >= from * 2 ? 'nearest' : 'lanczos3';
}

/**
 * Resizes to `size` on the longer edge and encodes once with sharp (libvips, off the
 * event loop). The bytes it returns are shared by every consumer, never re-encoded.
 */
export function createEncoder(options: EncoderOptions): Encoder {
  const { format, quality, effort } = options;
  return {
    format,
    async encode(image: RgbImage): Promise<EncodedImage> {
      const { width, height } = image;
      const longer = Math.max(width, height);
      const size = options.size ?? longer;
      let pipeline = sharp(image.data, { raw: { width, height, channels: 3 } });
      let outWidth = width;
      let outHeight = height;
      if (longer !== size) {
        outWidth = Math.max(1, Math.round((width * size) / longer));
        outHeight = Math.max(1, Math.round((height * size) / longer));
        pipeline = pipeline.resize(outWidth, outHeight, { kernel: chooseKernel(options.resize, longer, size), fit: 'fill' });
      }
      pipeline =
        format === 'webp'
          ? pipeline.webp({ quality, effort, smartSubsample: false })
          : pipeline.jpeg({ quality, mozjpeg: false, chromaSubsampling: '4:2:0' });
      // Captured here so a libvips failure points at the encode call, not at libuv.
      const stack = new Error().stack;
      try {
        const bytes = await pipeline.toBuffer();
        return { bytes, width: outWidth, height: outHeight, format };
      } catch (err) {
        const wrapped = new TpdneError(ErrorCodes.ENCODE, `Encoding ${format} failed: ${describeError(err)}`, { cause: err });
        if (stack) wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${stack.split('\n').slice(1).join('\n')}`;
        throw wrapped;
      }
    },
  };
}

/** The Content-Type and file extension of each format. */
export const FORMAT_INFO = Object.freeze({
  webp: { type: 'image/webp', ext: 'webp' },
  jpeg: { type: 'image/jpeg', ext: 'jpg' },
} as const);
