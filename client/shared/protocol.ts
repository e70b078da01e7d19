/**
 * The stream message format, shared by the server (encoder) and the client (decoder).
 * One binary WebSocket message per frame: a fixed header, then the image bytes.
 *
 *   offset size  field
 *   0      1     version        (1)
 *   1      1     format         1 = webp, 2 = jpeg
 *   2      2     headerLength   bytes before the image (32 in version 1; readers skip
 *                               anything past the fields they know)
 *   4      4     width          uint32
 *   8      4     height         uint32
 *   12     4     interval       uint32, ms per slot
 *   16     8     slot           float64 (an integer; slots pass 2^32)
 *   24     8     timestamp      float64, unix ms when the frame was published
 *   32     ...   image bytes
 *
 * All numbers little-endian. Version 1 readers reject other versions.
 */

export const PROTOCOL_VERSION = 1;
export const HEADER_LENGTH = 32;

export type StreamFormat = 'webp' | 'jpeg';

const FORMAT_CODES: Record<StreamFormat, number> = { webp: 1, jpeg: 2 };
const FORMAT_NAMES: Record<number, StreamFormat> = { 1: 'webp', 2: 'jpeg' };
export const FORMAT_MIME: Record<StreamFormat, string> = { webp: 'image/webp', jpeg: 'image/jpeg' };

export interface FrameHeader {
  slot: number;
  timestamp: number;
  width: number;
  height: number;
  interval: number;
  format: StreamFormat;
}

export interface DecodedFrame extends FrameHeader {
  /** The image bytes: a view into the message, not a copy. */
  image: Uint8Array;
}

/** Thrown for a message that is not a valid version-1 frame. `code` is ERR_PROTOCOL. */
export class ProtocolError extends Error {
  readonly code = 'ERR_PROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const isUint32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

/** Writes the 32-byte header for a frame. */
export function encodeFrameHeader(header: FrameHeader): Uint8Array {
  const { slot, timestamp, width, height, interval, format } = header;
  if (!Number.isSafeInteger(slot) || slot < 0) throw new ProtocolError(`Invalid slot ${slot}`);
  if (!Number.isFinite(timestamp)) throw new ProtocolError(`Invalid timestamp ${timestamp}`);
  if (!isUint32(width) || !isUint32(height) || !isUint32(interval)) {
    throw new ProtocolError(`Invalid size ${width}x${height} or interval ${interval}`);
  }
  const code = FORMAT_CODES[format];
  if (!code) throw new ProtocolError(`Unknown format ${String(format)}`);
  const bytes = new Uint8Array(HEADER_LENGTH);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, PROTOCOL_VERSION);
  view.setUint8(1, code);
  view.setUint16(2, HEADER_LENGTH, true);
  view.setUint32(4, width, true);
  view.setUint32(8, height, true);
  view.setUint32(12, interval, true);
  view.setFloat64(16, slot, true);
  view.setFloat64(24, timestamp, true);
  return bytes;
}

/** Reads a whole message. The returned image is a view into `message`, not a copy. */
export function decodeFrameMessage(message: ArrayBuffer | Uint8Array): DecodedFrame {
  const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
  if (bytes.byteLength < HEADER_LENGTH) throw new ProtocolError(`Message of ${bytes.byteLength} bytes is shorter than a header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== PROTOCOL_VERSION) throw new ProtocolError(`Unsupported protocol version ${version}`);
  const format = FORMAT_NAMES[view.getUint8(1)];
  if (!format) throw new ProtocolError(`Unknown format code ${view.getUint8(1)}`);
  const headerLength = view.getUint16(2, true);
  if (headerLength < HEADER_LENGTH || headerLength > bytes.byteLength) {
    throw new ProtocolError(`Invalid header length ${headerLength}`);
  }
  const slot = view.getFloat64(16, true);
  if (!Number.isSafeInteger(slot) || slot < 0) throw new ProtocolError(`Invalid slot ${slot}`);
  return {
    format,
    width: view.getUint32(4, true),
    height: view.getUint32(8, true),
    interval: view.getUint32(12, true),
    slot,
    timestamp: view.getFloat64(24, true),
    image: bytes.subarray(headerLength),
  };
}
