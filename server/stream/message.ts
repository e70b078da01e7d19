import { encodeFrameHeader } from '../../client/shared/protocol.js';
import type { Frame } from '../frames/frame.js';

const messages = new WeakMap<Frame, Buffer>();

/**
 * The stream message of a frame (header + image bytes), built once per frame and then
 * shared by every viewer and transport.
 */
export function frameMessage(frame: Frame, interval: number): Buffer {
  let message = messages.get(frame);
  if (!message) {
    const header = encodeFrameHeader({
      slot: frame.slot,
      timestamp: frame.createdAt,
      width: frame.width,
      height: frame.height,
      interval,
      format: frame.format,
    });
    message = Buffer.concat([header, frame.bytes]);
    messages.set(frame, message);
  }
  return message;
}

/**
 * Makes `message` the stream message of `frame`, as received: an edge relays the
 * generator's bytes to its viewers unchanged instead of building them again.
 */
export function adoptFrameMessage(frame: Frame, message: Buffer): void {
  messages.set(frame, message);
}
