import { createHash } from 'node:crypto';
import type { ImageFormat } from '../options.js';

/** One published image. Immutable: the same Buffer goes to every consumer. */
export interface Frame {
  readonly slot: number;
  /** Unix ms at which the frame was published. */
  readonly createdAt: number;
  readonly width: number;
  readonly height: number;
  readonly format: ImageFormat;
  readonly bytes: Buffer;
  /** Strong validator: slot plus a digest of the bytes (a restart with another seed changes it). */
  readonly etag: string;
}

export function createFrame(fields: Omit<Frame, 'etag'>): Frame {
  const digest = createHash('sha1').update(fields.bytes).digest('base64url').slice(0, 12);
  return Object.freeze({ ...fields, etag: `"${fields.slot}-${digest}"` });
}
