import { decodeFrameMessage } from '../../client/shared/protocol.js';
import { createFrame } from '../frames/frame.js';
import type { FrameStore } from '../frames/store.js';
import type { Dreamer, DreamerStats } from '../clock/dreamer.js';
import type { Generator } from '../model/generator.js';
import type { ImageFormat } from '../options.js';
import { adoptFrameMessage } from '../stream/message.js';
import { TpdneError, ErrorCodes, describeError } from '../errors.js';
import { busKeys, createBusConnection, type BusMeta } from './redis-bus.js';

export interface BusEdgeOptions {
  url: string;
  prefix: string;
  store: FrameStore;
  /** This edge's --interval: frames made at another interval are refused. */
  interval: number;
  /** This edge's --format: frames in another format are refused (the routes are named after it). */
  format: ImageFormat;
  log: (line: string) => void;
  /** Longest start-up waits for Redis before serving without a frame. Default `2000`. */
  startTimeout?: number;
}

export interface BusEdgeStats {
  role: 'edge';
  status: 'starting' | 'ok' | 'degraded';
  reason: string | null;
  connected: boolean;
  /** Frame messages that arrived (channel and catch-up reads). */
  received: number;
  /** Frames that became current. */
  applied: number;
  /** Frames ignored because a newer or equal slot was already current (duplicates, late arrivals). */
  stale: number;
  /** Messages refused: undecodable, or another format or interval than this edge's. */
  rejected: number;
  /** Slot of the current frame, or null. */
  lastSlot: number | null;
  /** Milliseconds since the last frame was applied, or null. */
  lastFrameAge: number | null;
  /** The generator's model facts, as it last published them. */
  meta: BusMeta | null;
}

/** An edge's frame source: it stands where the dreamer stands in a single server. */
export interface BusEdge extends Dreamer {
  /** A stand-in for the model: its name comes from the generator; it never generates. */
  readonly generator: Generator;
  meta(): BusMeta | null;
  busStats(): BusEdgeStats;
}

const FPS_WINDOW_MS = 10_000;
/** How often an edge rereads the generator's meta (it changes only when another model takes over). */
const META_REFRESH_MS = 5_000;

function parseMeta(bytes: Buffer | null): BusMeta | null {
  if (!bytes) return null;
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Partial<BusMeta>;
    if (typeof value.model !== 'string' || typeof value.device !== 'string' || typeof value.pixelated !== 'boolean') return null;
    return { model: value.model, device: value.device, pixelated: value.pixelated };
  } catch {
    return null;
  }
}

/**
 * Connects an edge to the bus and feeds the frames it carries into `store`, in slot
 * order (the store ignores older and duplicate slots). Subscribes first, then reads the
 * latest frame, so a late edge has the current frame before it serves anything and
 * misses none in between. Resolves once that first read is done, or after
 * `startTimeout` with Redis still unreachable (the edge then starts degraded and keeps
 * reconnecting).
 */
export async function startBusEdge(options: BusEdgeOptions): Promise<BusEdge> {
  const { store, interval, format, log } = options;
  const keys = busKeys(options.prefix);
  const sub = createBusConnection({ url: options.url, name: 'edge subscriber', interval, log });
  const cmd = createBusConnection({ url: options.url, name: 'edge', interval, log });
  const staleAfter = Math.max(1000, interval * 4);
  const counts = { received: 0, applied: 0, stale: 0, rejected: 0, missed: 0 };
  const appliedTimes: number[] = [];
  let meta: BusMeta | null = null;
  let metaReadAt = -Infinity;
  let readingMeta = false;
  let lastAppliedAt: number | null = null;
  let rejectReason: string | null = null;
  let subscribed = false;
  let closed = false;
  let catchUps: Promise<void> = Promise.resolve();
  let markCaughtUp: () => void = () => {};
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));

  function reject(reason: string): void {
    counts.rejected++;
    if (reason !== rejectReason) log(`tpdne: edge refused a frame: ${reason}`);
    rejectReason = reason;
  }

  function apply(message: Buffer): void {
    if (closed) return;
    counts.received++;
    let decoded;
    try {
      decoded = decodeFrameMessage(message);
    } catch (err) {
      return reject(describeError(err));
    }
    if (decoded.format !== format) return reject(`frames on the bus are ${decoded.format}, this edge serves --format ${format}`);
    if (decoded.interval !== interval) return reject(`frames on the bus are made every ${decoded.interval} ms, this edge has --interval ${interval}`);
    const image = decoded.image;
    const frame = createFrame({
      slot: decoded.slot,
      createdAt: decoded.timestamp,
      width: decoded.width,
      height: decoded.height,
      format: decoded.format,
      bytes: Buffer.from(image.buffer, image.byteOffset, image.byteLength),
    });
    // Viewers get the generator's message itself: the same bytes on every edge.
    adoptFrameMessage(frame, message);
    const previous = store.current();
    if (!store.publish(frame)) {
      counts.stale++;
      return;
    }
    if (previous) counts.missed += Math.max(0, frame.slot - previous.slot - 1);
    counts.applied++;
    rejectReason = null;
    const at = Date.now();
    lastAppliedAt = at;
    appliedTimes.push(at);
    while (appliedTimes.length && appliedTimes[0]! < at - FPS_WINDOW_MS) appliedTimes.shift();
    if (meta === null || performance.now() - metaReadAt > META_REFRESH_MS) void refreshMeta();
  }

  async function refreshMeta(): Promise<void> {
    if (readingMeta || !cmd.connected()) return;
    readingMeta = true;
    try {
      meta = parseMeta(await cmd.redis.getBuffer(keys.meta)) ?? meta;
      metaReadAt = performance.now();
    } catch {
      // Redis went away; the next frame asks again.
    } finally {
      readingMeta = false;
    }
  }

  /** Reads the latest frame and meta; run after (re)subscribing, so nothing falls between the two. */
  function catchUp(): Promise<void> {
    catchUps = catchUps.then(async function readLatest() {
      if (closed || !subscribed || !cmd.connected()) return;
      try {
        const [frame, metaBytes] = await cmd.redis.mgetBuffer(keys.frame, keys.meta);
        meta = parseMeta(metaBytes ?? null) ?? meta;
        metaReadAt = performance.now();
        if (frame) apply(frame);
        markCaughtUp();
      } catch (err) {
        log(`tpdne: edge could not read the latest frame: ${describeError(err)}`);
      }
    });
    return catchUps;
  }

  sub.redis.on('messageBuffer', function onBusMessage(channel: Buffer, message: Buffer) {
    if (channel.toString() === keys.channel) apply(message);
  });
  sub.redis.on('close', function onSubscriberClose() {
    subscribed = false;
  });
  sub.onReady(function resubscribe() {
    sub.redis.subscribe(keys.channel).then(
      () => {
        subscribed = true;
        void catchUp();
      },
      (err: unknown) => log(`tpdne: edge could not subscribe: ${describeError(err)}`),
    );
  });
  cmd.onReady(function readAfterReconnect() {
    void catchUp();
  });
  sub.connect();
  cmd.connect();

  let startTimer: NodeJS.Timeout | undefined;
  await Promise.race([caughtUp, new Promise<void>((resolve) => (startTimer = setTimeout(resolve, options.startTimeout ?? 2000)))]);
  clearTimeout(startTimer);

  const generator: Generator = {
    get name() {
      return meta?.model ?? 'unknown';
    },
    device: 'none',
    nativeSize: null,
    generate() {
      return Promise.reject(new TpdneError(ErrorCodes.CLOSED, 'An edge does not generate frames'));
    },
    close: () => Promise.resolve(),
  };

  function busStats(): BusEdgeStats {
    const now = Date.now();
    const down = sub.reason() ?? cmd.reason() ?? (subscribed ? null : 'not subscribed yet');
    const age = lastAppliedAt === null ? null : now - lastAppliedAt;
    let status: BusEdgeStats['status'] = 'ok';
    let reason: string | null = null;
    if (down !== null) {
      status = 'degraded';
      reason = `redis unreachable: ${down}`;
    } else if (rejectReason !== null) {
      status = 'degraded';
      reason = rejectReason;
    } else if (age === null) {
      status = 'starting';
      reason = 'no frame from a generator yet';
    } else if (age > staleAfter) {
      status = 'degraded';
      reason = `no frame from a generator for ${age} ms`;
    }
    return {
      role: 'edge',
      status,
      reason,
      connected: down === null,
      ...counts,
      lastSlot: store.current()?.slot ?? null,
      lastFrameAge: age,
      meta,
    };
  }

  let closing: Promise<void> | null = null;
  return {
    generator,
    meta: () => meta,
    busStats,
    start() {
      // Frames flow from the moment the edge connects; nothing to start.
    },
    stats(): DreamerStats {
      const b = busStats();
      const now = Date.now();
      const recent = appliedTimes.filter((t) => t >= now - FPS_WINDOW_MS);
      const span = Math.min(FPS_WINDOW_MS, recent.length > 1 ? now - recent[0]! : FPS_WINDOW_MS);
      return {
        status: b.status,
        reason: b.reason,
        published: counts.applied,
        late: 0,
        missed: counts.missed,
        dropped: counts.rejected,
        nonFinite: 0,
        encodeErrors: 0,
        fps: recent.length > 1 ? Math.round(((recent.length - 1) / span) * 1000 * 100) / 100 : 0,
        timings: null,
      };
    },
    close() {
      closing ??= (async function shutDown() {
        closed = true;
        await catchUps;
        await Promise.allSettled([sub.close(), cmd.close()]);
      })();
      return closing;
    },
  };
}
