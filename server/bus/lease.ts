import type { Redis } from 'ioredis';
import { describeError } from '../errors.js';

/**
 * Which of several generators publishes. The lease is one Redis key holding the
 * holder's id with a TTL: a standby takes it with `SET NX PX` once it has expired; the
 * holder renews it with a compare-and-set script, so a generator that lost it (it
 * stalled past the TTL and another took over) can never extend someone else's lease.
 */

/** Extends the TTL only if the caller still holds the lease. 1 = renewed, 0 = not ours. */
export const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** Deletes the lease only if the caller holds it, so a graceful stop hands over at once. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** Timing of the lease for an interval: a TTL of 1.25 intervals (at most 10 s), claimed or renewed five times per TTL. */
export function leaseTiming(interval: number): { ttl: number; tick: number } {
  const ttl = Math.max(20, Math.min(10_000, Math.round(interval * 1.25)));
  return { ttl, tick: Math.max(5, Math.round(ttl / 5)) };
}

export interface LeaseOptions {
  redis: Redis;
  key: string;
  /** This holder's id, unique per process. */
  id: string;
  /** Milliseconds the lease lives without renewal. */
  ttl: number;
  /** Milliseconds between claims (standby) or renewals (holder). */
  tick: number;
  log: (line: string) => void;
  /** Called when this process becomes the holder. */
  onAcquire?: () => void;
  /** The monotonic clock, replaceable in tests. Default `performance.now`. */
  now?: () => number;
}

export interface LeaseStats {
  holding: boolean;
  /** Times this process took the lease. */
  acquired: number;
  /** Times it lost the lease (expired or taken) while it thought it held it. */
  lost: number;
}

export interface Lease {
  readonly id: string;
  /** True while this process holds the lease (as of its last renewal, and not longer than the TTL). */
  holding(): boolean;
  /** Marks the lease lost now: the publish script found another holder. */
  forfeit(): void;
  start(): void;
  stats(): LeaseStats;
  /** Stops claiming and releases the lease if held. Idempotent. */
  close(): Promise<void>;
}

type LeaseCommands = Redis & {
  tpdneRenewLease(key: string, id: string, ttl: number): Promise<number>;
  tpdneReleaseLease(key: string, id: string): Promise<number>;
};

/** Defines the lease scripts on a connection once (ioredis runs them by EVALSHA, falling back to EVAL after a Redis restart). */
export function withLeaseCommands(redis: Redis): LeaseCommands {
  const r = redis as LeaseCommands;
  if (typeof r.tpdneRenewLease !== 'function') {
    redis.defineCommand('tpdneRenewLease', { numberOfKeys: 1, lua: RENEW_SCRIPT });
    redis.defineCommand('tpdneReleaseLease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  }
  return r;
}

export function createLease(options: LeaseOptions): Lease {
  const { key, id, ttl, tick, log } = options;
  const redis = withLeaseCommands(options.redis);
  const now = options.now ?? (() => performance.now());
  const stats: LeaseStats = { holding: false, acquired: 0, lost: 0 };
  /** When the lease we hold expires at the latest, counted from the send time of the last renewal. */
  let validUntil = 0;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> | null = null;
  let closed = false;

  function lose(why: string): void {
    if (!stats.holding) return;
    stats.holding = false;
    stats.lost++;
    log(`tpdne: publish lease lost (${why}); standing by`);
  }

  async function claim(): Promise<void> {
    const sentAt = now();
    try {
      if (stats.holding) {
        // A lease that vanished (Redis restarted empty) is simply taken again.
        if ((await redis.tpdneRenewLease(key, id, ttl)) === 1 || (await redis.set(key, id, 'PX', ttl, 'NX')) === 'OK') {
          validUntil = sentAt + ttl;
        } else {
          lose('another generator holds it');
        }
        return;
      }
      // Not ours: take it only if nobody holds it (it expired, was released, or Redis restarted empty).
      if ((await redis.set(key, id, 'PX', ttl, 'NX')) === 'OK') {
        validUntil = sentAt + ttl;
        stats.holding = true;
        stats.acquired++;
        log('tpdne: publish lease acquired; publishing frames');
        if (!closed) options.onAcquire?.();
      }
    } catch (err) {
      // Redis is unreachable: keep the lease only as long as it can still be valid there.
      const why = redis.status === 'ready' ? describeError(err) : 'redis unreachable';
      if (stats.holding && now() >= validUntil) lose(`not renewed within ${ttl} ms: ${why}`);
    }
  }

  function onTick(): void {
    if (closed || inFlight) return;
    inFlight = claim().finally(() => {
      inFlight = null;
    });
  }

  return {
    id,
    holding: () => stats.holding && now() < validUntil,
    forfeit() {
      lose('another generator holds it');
    },
    start() {
      if (timer || closed) return;
      timer = setInterval(onTick, tick);
      onTick();
    },
    stats: () => ({ ...stats, holding: stats.holding && now() < validUntil }),
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      await inFlight;
      if (stats.holding) {
        stats.holding = false;
        await redis.tpdneReleaseLease(key, id).catch(() => 0);
      }
    },
  };
}
