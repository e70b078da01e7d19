import { slotAt, slotStart } from './slot.js';
import { createFrame, type Frame } from '../frames/frame.js';
import type { FrameStore } from '../frames/store.js';
import type { Encoder } from '../encode/encoder.js';
import type { GeneratedImage, Generator, StageTimings } from '../model/generator.js';
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
 * then publishes it. Generations never overlap, but the next one starts as soon as the
 * last has returned, while its frames are encoded and held: the model (a worker thread)
 * and the encoder (libvips threads) then work at once, and a frame gets up to two
 * intervals to be ready instead of one. When the model is slower than the interval, it
 * aims at the first slot it can still make and counts the ones it skips.
 *
 * With a batching generator (`generator.batch` > 1) one run makes several consecutive
 * slots; each frame is still published exactly when its own slot begins, never early.
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

  /** A frame made, when it was ready, and the work it took (model + its encode, not waiting for its turn). */
  type Outcome = { made: Made; readyAt: number; work: number } | { error: unknown };

  /** One model run in the making: its slots, when the model is free again, and its frames (nothing rejects). */
  interface Making {
    targets: readonly number[];
    generated: Promise<boolean>;
    /** One outcome per target, in slot order. */
    made: Promise<Outcome[]>;
  }

  /**
   * Starts the run of the next slots it can still make (several when the generator
   * batches), and encodes each image as soon as the run has returned.
   */
  function makeNext(): Making {
    const startedAt = now();
    const batch = Math.max(1, generator.generateBatch ? (generator.batch ?? 1) : 1);
    // Aim at the first slot whose start we can still beat, given how long frames take.
    const first = Math.max(lastTarget + 1, slotAt(startedAt + estimate, interval) + 1);
    const targets = Array.from({ length: batch }, (_, i) => first + i);
    lastTarget = targets.at(-1)!;
    const generation: Promise<(GeneratedImage | Error)[]> =
      batch === 1 ? generator.generate(first).then((image) => [image]) : generator.generateBatch!(targets);
    const made = generation.then(
      async function encodeFrames(images): Promise<Outcome[]> {
        const modelMs = now() - startedAt;
        const outcomes: Outcome[] = [];
        for (const [i, image] of images.entries()) {
          if (image instanceof Error) {
            outcomes.push({ error: image });
            continue;
          }
          const t0 = performance.now();
          try {
            const encoded = await encoder.encode(image.rgb);
            const encode = performance.now() - t0;
            const frame = { slot: targets[i]!, width: encoded.width, height: encoded.height, format: encoded.format, bytes: encoded.bytes };
            outcomes.push({ made: { frame, timings: { ...image.timings, encode, publish: 0 } }, readyAt: now(), work: modelMs + encode });
          } catch (error) {
            outcomes.push({ error });
          }
        }
        return outcomes;
      },
      (error: unknown) => targets.map(() => ({ error })),
    );
    return {
      targets,
      generated: generation.then(
        () => true,
        () => false,
      ),
      made,
    };
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

  async function run(): Promise<void> {
    let next: Making | null = null;
    try {
      while (!closed) {
        const current: Making = next ?? makeNext();
        next = null;
        // The next run starts as soon as the model is free, while this run's frames are
        // encoded and held (runs themselves never overlap): one run ahead at most.
        if ((await current.generated) && !closed) next = makeNext();
        const outcomes = await current.made;
        const made = outcomes.filter((o): o is Extract<Outcome, { made: Made }> => 'made' in o);
        if (!closed) for (const o of outcomes) if ('error' in o) fail(o.error);
        if (made.length === 0) {
          if (closed) break;
          // Don't spin on a failing model: wait for the slot we were aiming at.
          await sleep(slotStart(current.targets[0]!, interval) - now());
          continue;
        }
        estimate = estimate * 0.7 + made[0]!.work * 0.3;
        for (const frame of made) {
          const start = slotStart(frame.made.frame.slot, interval);
          // Timers may fire a millisecond early: never publish before the slot has begun.
          while (!closed && now() < start) await sleep(start - now());
          // Closed while waiting: dropped, except a first frame ever (a store is never empty).
          if (closed && lastPublished !== null) break;
          publish(frame.made, frame.readyAt);
        }
      }
    } finally {
      // close() resolves once no run is in the making (the service then releases the model).
      if (next) await next.made;
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
      wake?.();
      await loop;
    },
  };
}
