import { open, rename, unlink, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { FrameStore } from '../frames/store.js';
import type { Frame } from '../frames/frame.js';
import { FORMAT_INFO } from '../encode/encoder.js';
import { describeError } from '../errors.js';

export interface FileSinkOptions {
  /** Path without extension; the format's extension is added (`out/sampled` → `out/sampled.webp`). */
  path: string;
  store: FrameStore;
  log: (line: string) => void;
  /** When given, `favicon.png` (this frame, small) is written beside the image too. */
  favicon?: (frame: Frame) => Promise<Uint8Array>;
}

export interface FileSinkStats {
  written: number;
  /** Frames not written because a newer one arrived while the disk was busy. */
  superseded: number;
  failed: number;
  lastError: string | null;
}

export interface FileSink {
  stats(): FileSinkStats;
  /** Finishes the write in flight, then stops. Idempotent. */
  close(): Promise<void>;
}

/**
 * Writes `bytes` to `target` so that a reader only ever sees a whole file: write a
 * temporary file in the same folder, flush it, then rename over the target (atomic on
 * POSIX within one file system).
 */
export async function writeFileAtomic(target: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  const handle = await open(temp, 'w', 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}

/**
 * The original's ability: keep `out/sampled.<ext>` (and, with `favicon`, `out/favicon.png`)
 * equal to the current frame, for nginx or any static host. One write at a time; if
 * frames come faster than the disk takes them, only the newest waits. A failing disk is
 * logged once and never stops the stream.
 */
export function createFileSink(options: FileSinkOptions): FileSink {
  const { store, log } = options;
  const stats: FileSinkStats = { written: 0, superseded: 0, failed: 0, lastError: null };
  let next: Frame | null = null;
  let writing: Promise<void> | null = null;
  let ready: Promise<void> | null = null;
  let closed = false;

  async function write(frame: Frame): Promise<void> {
    const target = `${options.path}.${FORMAT_INFO[frame.format].ext}`;
    ready ??= mkdir(dirname(target), { recursive: true }).then(() => undefined);
    try {
      await ready;
      await writeFileAtomic(target, frame.bytes);
      if (options.favicon) await writeFileAtomic(join(dirname(target), 'favicon.png'), await options.favicon(frame));
      stats.written++;
      if (stats.lastError) log(`tpdne: --out writes to ${target} work again`);
      stats.lastError = null;
    } catch (err) {
      ready = null;
      stats.failed++;
      const reason = describeError(err);
      if (reason !== stats.lastError) log(`tpdne: cannot write --out file ${target}: ${reason}; the stream goes on`);
      stats.lastError = reason;
    }
  }

  async function drain(): Promise<void> {
    while (next && !closed) {
      const frame = next;
      next = null;
      await write(frame);
    }
    writing = null;
  }

  const unsubscribe = store.subscribe(function onFrame(frame) {
    if (next) stats.superseded++;
    next = frame;
    writing ??= drain();
  });

  return {
    stats: () => ({ ...stats }),
    async close() {
      if (!closed) {
        closed = true;
        unsubscribe();
      }
      await writing;
    },
  };
}
