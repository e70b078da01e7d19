import type { Frame } from '../frames/frame.js';

type Headers = Readonly<Record<string, string | number>>;

export interface FrameHeaderOptions {
  /** Content-Type of frames. */
  type: string;
  /** Cache headers of the pointers (`/image.<ext>`), which change every slot. */
  pointer: Readonly<Record<string, string>>;
  /** Cache headers of the slot URLs (`/frames/<slot>.<ext>`), which never change. */
  immutable: Readonly<Record<string, string>>;
  /** CORS headers that are the same for every request (those of `*`). Default none. */
  cors?: Readonly<Record<string, string>>;
  /** Headers every response carries. Default none. */
  base?: Readonly<Record<string, string>>;
}

export interface FrameHeaders {
  /**
   * The whole response headers of `frame` for a 200 (`ok`, with Content-Type and
   * Content-Length) and a 304 (`notModified`), `base` included, with the shared CORS
   * headers or, when given, the request's own `cors`. Without `cors` they are built once
   * per frame and kind, then shared by every request.
   */
  get(frame: Frame, immutable: boolean, cors?: Readonly<Record<string, string>>): { ok: Headers; notModified: Headers };
}

/**
 * Image responses, the most requested there are, differ from one another only by frame
 * (slot, ETag, date) and by kind (pointer or slot URL): their headers are made once per
 * frame (Last-Modified's date string included) instead of once per request.
 */
export function createFrameHeaders(options: FrameHeaderOptions): FrameHeaders {
  type Entry = { ok: Headers; notModified: Headers };
  const cache = new WeakMap<Frame, { pointer?: Entry; immutable?: Entry }>();

  function build(frame: Frame, immutable: boolean, cors: Readonly<Record<string, string>> | undefined) {
    const notModified = Object.freeze({
      ...options.base,
      ...(immutable ? options.immutable : options.pointer),
      'X-Tpdne-Slot': String(frame.slot),
      'Cross-Origin-Resource-Policy': 'cross-origin',
      ...(cors ?? options.cors),
      ETag: frame.etag,
      'Last-Modified': new Date(frame.createdAt).toUTCString(),
    });
    const ok = Object.freeze({ 'Content-Type': options.type, ...notModified, 'Content-Length': frame.bytes.length });
    return { ok, notModified };
  }

  return {
    get(frame, immutable, cors) {
      if (cors) return build(frame, immutable, cors);
      let entry = cache.get(frame);
      if (!entry) cache.set(frame, (entry = {}));
      const kind = immutable ? 'immutable' : 'pointer';
      return (entry[kind] ??= build(frame, immutable, undefined));
    },
  };
}
