import sharp from 'sharp';
import type { Frame } from '../frames/frame.js';
import { TpdneError, ErrorCodes, describeError } from '../errors.js';

/** Edge of the favicon in pixels: the 16 px tab icon at 2x, small enough to stay a few KB. */
export const FAVICON_SIZE = 32;

export interface Favicons {
  /**
   * The PNG favicon of `frame`. Made once per frame, on first use, and shared by every
   * caller (HTTP requests, the file sink) until a newer frame asks for its own.
   */
  png(frame: Frame): Promise<Buffer>;
  /** The favicon's ETag, known without making it (so a 304 costs nothing). */
  etag(frame: Frame): string;
}

export interface FaviconOptions {
  /** True when frames are upscaled pixel art: nearest-neighbour gives back the crisp sprite. */
  pixelated: () => boolean;
  /** Default {@link FAVICON_SIZE}. */
  size?: number;
}

export function createFavicons(options: FaviconOptions): Favicons {
  const size = options.size ?? FAVICON_SIZE;
  // Only the newest frame's favicon is kept: pointers only ever ask for the current one.
  let made: { slot: number; png: Promise<Buffer> } | null = null;

  async function render(frame: Frame): Promise<Buffer> {
    try {
      return await sharp(frame.bytes)
        .resize(size, size, { fit: 'cover', kernel: options.pixelated() ? 'nearest' : 'lanczos3' })
        .png({ compressionLevel: 9 })
        .toBuffer();
    } catch (err) {
      throw new TpdneError(ErrorCodes.ENCODE, `Making the favicon of slot ${frame.slot} failed: ${describeError(err)}`, { cause: err });
    }
  }

  return {
    png(frame) {
      if (made?.slot === frame.slot) return made.png;
      const entry = { slot: frame.slot, png: render(frame) };
      // A failure is not kept: the next caller tries again.
      entry.png.catch(function forgetFailure() {
        if (made === entry) made = null;
      });
      if (!made || frame.slot > made.slot) made = entry;
      return entry.png;
    },
    etag(frame) {
      return `"${frame.etag.slice(1, -1)}-${size}.png"`;
    },
  };
}
