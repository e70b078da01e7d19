import type { Frame } from '../frames/frame.js';
import { frameMessage } from './message.js';

/**
 * Only the latest frame's wire bytes are kept: that is the frame every broadcast and every
 * new viewer sends. Keeping one per frame of the store's ring (240 by default) would hold
 * another copy of every kept image.
 */
let latest: { frame: Frame; wire: Buffer } | null = null;

/** RFC 6455 5.2: FIN + binary opcode, unmasked (server to client), then the payload length. */
export function binaryFrameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([0x82, length]);
  if (length < 0x10000) {
    const header = Buffer.alloc(4);
    header[0] = 0x82;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.alloc(10);
  header[0] = 0x82;
  header[1] = 127;
  header.writeUIntBE(length, 4, 6); // the top two bytes stay 0: lengths past 2^48 are not frames we make
  return header;
}

/**
 * The whole WebSocket frame of a stream message (frame header + message header + image
 * bytes) in one Buffer, built once per frame: every viewer's socket is given the same
 * Buffer in one write, so the broadcast makes no per-viewer allocation or copy and one
 * syscall per viewer. (ws's own send() frames again for each call and writes header and
 * payload separately.)
 */
export function wireFrame(frame: Frame, interval: number): Buffer {
  if (latest?.frame !== frame) {
    const message = frameMessage(frame, interval);
    latest = { frame, wire: Buffer.concat([binaryFrameHeader(message.length), message]) };
  }
  return latest.wire;
}
