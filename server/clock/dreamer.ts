import { slotAt, slotStart } from './slot.js';
import { createFrame, type Frame } from '../frames/frame.js';
import type { FrameStore } from '../frames/store.js';
import type { Encoder } from '../encode/encoder.js';
import type { Generator, StageTimings } from '../model/generator.js';
import { describeError, isTpdneError, ErrorCodes } from '../errors.js';

export interface DreamerOptions {
  generator: Generator;
  encoder: Encoder;
  store: FrameStore;
  /** Milliseconds per slot. */
  interval: number;
  log: (line: string) => void;
  /** The wall clock, replaceable in tests. Default `Date.now`. */
  now?: () => number;
}

export interface DreamerTimings extends StageTimings {
  encode: number;
  publish: number;
}

export interface DreamerStats {
  status: 'starting' | 'ok' | 'degraded';
  /** Why the dreamer is degraded (the last failure), or null. */
  reason: string | null;
  /** Frames published. */
  published: number;
  /** Frames published after their slot had begun. */
  late: number;
  /** Slots that got no frame since the first one was published. */
  missed: number;
  /** Frames dropped: model errors, NaN/Inf tensors, encode failures. */
  dropped: number;
  /** Frames dropped for NaN/Inf values (part of `dropped`). */
  nonFinite: number;
  /** Frames dropped by the encoder (part of `dropped`). */
  encodeErrors: number;
  /** Published frames per second over the last 10 s. */
  fps: number;
  /** Stage times of the last frame, in ms. */
  timings: DreamerTimings | null;
}

export interface Dreamer {
  start(): void;
  stats(): DreamerStats;
  /** Stops after the frame in flight; resolves when the loop has ended. Idempotent. */
  close(): Promise<void>;
}

/** The window the published frame rate is measured over. */
export const FPS_WINDOW_MS = 10_000;

/**
 * The clock: generates the frame for an upcoming slot, holds it until the slot begins,
 * then publishes it. Generations never overlap. When the model is slower than the
 * interval, it aims at the first slot it can still make and counts the ones it skips.
 *
 * With a batching generator (`generator.batch` > 1) one run makes several consecutive
 * slots; each frame is still published exactly when its own slot begins, never early,
 * and the next run starts once the batch's first frame is out.
 */
export function createDreamer(options: DreamerOptions): Dreamer {
  const { generator, encoder, store, interval, log } = options;
  const now = options.now ?? Date.now;
  const stats: DreamerStats = {
    status: 'starting',
    reason: null,
    published: 0,
    late: 0,
    missed: 0,
    dropped: 0,
    nonFinite: 0,
    encodeErrors: 0,
    fps: 0,
    timings: null,
  };
  const publishTimes: number[] = [];
  let closed = false;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let sleepTimer: NodeJS.Timeout | null = null;
  /** Estimated ms to make one frame (generate + encode), smoothed. */
  let estimate = interval / 2;
  let lastTarget = -Infinity;
  let lastPublished: number | null = null;
  let lastFailure = '';

  function sleep(ms: number): Promise<void> {
    if (ms <= 0 || closed) return Promise.resolve();
    return new Promise(function waitForSlot(resolve) {
      wake = resolve;
      sleepTimer = setTimeout(resolve, ms);
    });
  }

  function fail(err: unknown): void {
    stats.dropped++;
    if (isTpdneError(err, ErrorCodes.TENSOR_NONFINITE)) stats.nonFinite++;
    if (isTpdneError(err, ErrorCodes.ENCODE)) stats.encodeErrors++;
    const reason = describeError(err);
    stats.status = 'degraded';
    stats.reason = reason;
    // One log line per kind of failure, not one per slot: compare without the numbers.
    const kind = reason.replace(/\d+/g, '#');
    if (kind !== lastFailure) log(`tpdne: frame dropped: ${reason}`);
    lastFailure = kind;
  }

  type Made = { frame: Omit<Frame, 'etag' | 'createdAt'>; timings: DreamerTimings };

  /** Generates the targets (one model run when batched), then encodes each: a frame, or why not. */
  async function makeFrames(targets: readonly number[]): Promise<(Made | Error)[]> {
    const generated =
      targets.length === 1 || !generator.generateBatch ? [await generator.generate(targets[0]!)] : await generator.generateBatch(targets);
    const made: (Made | Error)[] = [];
    for (const [i, image] of generated.entries()) {
      if (image instanceof Error) {
        made.push(image);
        continue;
      }
      const t0 = performance.now();
      try {
        const encoded = await encoder.encode(image.rgb);
        const frame = { slot: targets[i]!, width: encoded.width, height: encoded.height, format: encoded.format, bytes: encoded.bytes };
        made.push({ frame, timings: { ...image.timings, encode: performance.now() - t0, publish: 0 } });
      } catch (err) {
        made.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
    return made;
  }

  function publish(made: Made, readyAt: number): void {
    const { slot } = made.frame;
    const at = now();
    // Late means the frame was not ready when its slot began (timer jitter is not lateness).
    if (readyAt > slotStart(slot, interval)) stats.late++;
    const t0 = performance.now();
    const frame = createFrame({ ...made.frame, createdAt: at });
    if (!store.publish(frame)) return;
    made.timings.publish = performance.now() - t0;
    stats.timings = made.timings;
    if (lastPublished !== null) stats.missed += Math.max(0, slot - lastPublished - 1);
    lastPublished = slot;
    stats.published++;
    publishTimes.push(at);
    while (publishTimes.length && publishTimes[0]! < at - FPS_WINDOW_MS) publishTimes.shift();
    if (stats.status !== 'ok') {
      if (stats.status === 'degraded') log('tpdne: recovered');
      stats.status = 'ok';
      stats.reason = null;
      lastFailure = '';
    }
  }

  /** Frames made and waiting for their slot, in slot order (at most one batch). */
  const queue: { made: Made; readyAt: number }[] = [];
  let publishTimer: NodeJS.Timeout | null = null;
  /** Resolves the loop's wait for the first frame of the batch it just made. */
  let firstOut: { slot: number; resolve: () => void } | null = null;

  /** Publishes every queued frame whose slot has begun, and sets a timer for the next. */
  function pump(): void {
    if (publishTimer) clearTimeout(publishTimer);
    publishTimer = null;
    while (queue.length > 0 && !closed) {
      const due = slotStart(queue[0]!.made.frame.slot, interval);
      // Timers may fire a millisecond early: never publish before the slot has begun.
      if (now() < due) {
        publishTimer = setTimeout(pump, due - now());
        return;
      }
      const next = queue.shift()!;
      publish(next.made, next.readyAt);
      if (firstOut && next.made.frame.slot >= firstOut.slot) {
        firstOut.resolve();
        firstOut = null;
      }
    }
  }

  async function run(): Promise<void> {
    while (!closed) {
      const batch = Math.max(1, generator.generateBatch ? (generator.batch ?? 1) : 1);
      const startedAt = now();
      // Aim at the first slot whose start we can still beat, given how long frames take.
      const first = Math.max(lastTarget + 1, slotAt(startedAt + estimate, interval) + 1);
      const targets = Array.from({ length: batch }, (_, i) => first + i);
      lastTarget = targets.at(-1)!;
      let results;
      try {
        results = await makeFrames(targets);
      } catch (err) {
        if (closed) break;
        fail(err);
        // Don't spin on a failing model: wait for the slot we were aiming at.
        await sleep(slotStart(first, interval) - now());
        continue;
      }
      const readyAt = now();
      estimate = estimate * 0.7 + (readyAt - startedAt) * 0.3;
      const made = results.filter((r): r is Made => !(r instanceof Error));
      for (const err of results.filter((r): r is Error => r instanceof Error)) fail(err);
      if (made.length === 0) {
        await sleep(slotStart(first, interval) - now());
        continue;
      }
      if (closed) {
        // Closed while the first frame was being made: publish it, so a store is never empty.
        if (lastPublished === null) publish(made[0]!, readyAt);
        break;
      }
      // The next run starts once this batch's first frame is out: one batch ahead at most,
      // and a batch of one behaves exactly like the unbatched loop.
      const out = new Promise<void>((resolve) => (firstOut = { slot: made[0]!.frame.slot, resolve }));
      queue.push(...made.map((m) => ({ made: m, readyAt })));
      pump();
      await out;
    }
  }

  return {
    start() {
      if (loop || closed) return;
      loop = run().catch(function onLoopCrash(err: unknown) {
        log(`tpdne: dreamer stopped: ${describeError(err)}`);
        stats.status = 'degraded';
        stats.reason = describeError(err);
      });
    },
    stats() {
      const at = now();
      const recent = publishTimes.filter((t) => t >= at - FPS_WINDOW_MS);
      const span = Math.min(FPS_WINDOW_MS, recent.length > 1 ? at - recent[0]! : FPS_WINDOW_MS);
      return { ...stats, fps: recent.length > 1 ? Math.round(((recent.length - 1) / span) * 1000 * 100) / 100 : 0 };
    },
    async close() {
      closed = true;
      if (sleepTimer) clearTimeout(sleepTimer);
      if (publishTimer) clearTimeout(publishTimer);
      wake?.();
      // Frames still waiting for their slot are dropped, except a first frame ever.
      const waiting = queue.splice(0);
      if (lastPublished === null && waiting.length > 0) publish(waiting[0]!.made, waiting[0]!.readyAt);
      firstOut?.resolve();
      firstOut = null;
      await loop;
    },
  };
}
