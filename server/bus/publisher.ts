import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { FrameStore } from '../frames/store.js';
import type { Frame } from '../frames/frame.js';
import { frameMessage } from '../stream/message.js';
import { describeError } from '../errors.js';
import { busKeys, createBusConnection, type BusConnection, type BusMeta } from './redis-bus.js';
import { createLease, leaseTiming, type Lease } from './lease.js';

/**
 * Publishes atomically, and only while the caller holds the lease: the frame message
 * becomes the latest (with a TTL) and goes out on the channel. One script, so a
 * generator that lost the lease a moment ago cannot slip one more frame in, and the
 * 128 KB message crosses the network once. Returns subscribers reached, or -1 when the
 * lease is someone else's.
 */
export const PUBLISH_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
return redis.call('PUBLISH', ARGV[5], ARGV[2])`;

/** At most this many frames on their way to Redis; a newer frame is skipped rather than queued behind them. */
const MAX_IN_FLIGHT = 4;

export interface BusPublisherOptions {
  url: string;
  prefix: string;
  store: FrameStore;
  interval: number;
  /** The model facts edges show on their pages, read at each publish. */
  meta: () => BusMeta;
  log: (line: string) => void;
}

export interface BusPublisherStats {
  role: 'generator';
  status: 'ok' | 'degraded';
  /** Why the bus is degraded, or null. */
  reason: string | null;
  connected: boolean;
  /** True while this generator holds the lease and publishes. */
  leader: boolean;
  leaseId: string;
  /** Frames sent to Redis. */
  published: number;
  /** Frames not sent: Redis down, a failed command, or too many in flight. */
  failed: number;
  /** Slot of the last frame Redis accepted from this generator, or null. */
  lastSlot: number | null;
  /** Times this generator took the lease. */
  acquired: number;
}

export interface BusPublisher {
  start(): void;
  stats(): BusPublisherStats;
  /** Releases the lease (a standby takes over at its next tick) and quits. Idempotent. */
  close(): Promise<void>;
}

type PublishCommands = Redis & {
  tpdnePublishFrame(leaseKey: string, frameKey: string, metaKey: string, id: string, message: Buffer, meta: string, ttl: number, channel: string): Promise<number>;
};

/** How long the latest frame stays readable for late edges: ten intervals, at least 2 s. */
export function frameTtl(interval: number): number {
  return Math.max(2000, interval * 10);
}

/**
 * The generator's side of the bus. Every generator dreams locally whatever happens;
 * this sends each new frame to Redis while the process holds the lease. On taking the
 * lease it sends its current frame at once, so a takeover costs at most the slots the
 * lease took to expire.
 */
export function createBusPublisher(options: BusPublisherOptions): BusPublisher {
  const { store, interval, log } = options;
  const keys = busKeys(options.prefix);
  const id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const connection: BusConnection = createBusConnection({ url: options.url, name: 'generator', interval, log });
  const redis = connection.redis as PublishCommands;
  redis.defineCommand('tpdnePublishFrame', { numberOfKeys: 3, lua: PUBLISH_SCRIPT });
  const ttl = frameTtl(interval);
  const timing = leaseTiming(interval);
  const lease: Lease = createLease({
    redis: connection.redis,
    key: keys.lease,
    id,
    ...timing,
    log,
    onAcquire: function publishCurrent() {
      const current = store.current();
      if (current) send(current);
    },
  });
  const stats = { published: 0, failed: 0, lastSlot: null as number | null };
  const inFlight = new Set<Promise<void>>();
  let lastFailure = '';
  let unsubscribe: (() => void) | null = null;
  let closing: Promise<void> | null = null;

  function send(frame: Frame): void {
    if (!lease.holding() || closing) return;
    if (!connection.connected() || inFlight.size >= MAX_IN_FLIGHT) {
      stats.failed++;
      return;
    }
    const message = frameMessage(frame, interval);
    const sent = redis
      .tpdnePublishFrame(keys.lease, keys.frame, keys.meta, id, message, JSON.stringify(options.meta()), ttl, keys.channel)
      .then(
        function published(reached) {
          if (reached < 0) return lease.forfeit();
          stats.published++;
          if (stats.lastSlot === null || frame.slot > stats.lastSlot) stats.lastSlot = frame.slot;
          lastFailure = '';
        },
        function notPublished(err: unknown) {
          stats.failed++;
          const reason = describeError(err);
          if (reason !== lastFailure && connection.connected()) log(`tpdne: frame not published to redis: ${reason}`);
          lastFailure = reason;
        },
      )
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  }

  return {
    start() {
      if (unsubscribe || closing) return;
      unsubscribe = store.subscribe(send);
      connection.connect();
      lease.start();
    },
    stats() {
      const reason = connection.reason();
      const l = lease.stats();
      return {
        role: 'generator',
        status: reason === null ? 'ok' : 'degraded',
        reason: reason === null ? null : `redis unreachable: ${reason}`,
        connected: reason === null,
        leader: l.holding,
        leaseId: id,
        published: stats.published,
        failed: stats.failed,
        lastSlot: stats.lastSlot,
        acquired: l.acquired,
      };
    },
    close() {
      closing ??= (async function shutDown() {
        unsubscribe?.();
        await Promise.allSettled(inFlight);
        await lease.close();
        await connection.close();
      })();
      return closing;
    },
  };
}
