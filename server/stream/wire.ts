import type { Frame } from '../frames/frame.js';
import { frameMessage } from './message.js';

const wires = new WeakMap<Frame, Buffer>();

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
  let wire = wires.get(frame);
  if (!wire) {
    const message = frameMessage(frame, interval);
    wire = Buffer.concat([binaryFrameHeader(message.length), message]);
    wires.set(frame, wire);
  }
  return wire;
}
