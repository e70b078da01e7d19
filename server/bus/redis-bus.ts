import { Redis } from 'ioredis';
import { describeError } from '../errors.js';

/**
 * The Redis side of the frame bus: key names, one connection with tpdne's reconnect
 * policy, and the health of that connection. Generators and edges each hold their own
 * connections; nothing else in tpdne talks to Redis.
 */

/** Where a site's frames live in Redis. Pub/sub ignores the database number, so the prefix is what keeps sites apart. */
export interface BusKeys {
  /** Channel every frame message is published on. */
  readonly channel: string;
  /** The latest frame message, with a short TTL, for edges that join late. */
  readonly frame: string;
  /** JSON {@link BusMeta} of the generator that published it. */
  readonly meta: string;
  /** Which generator may publish: its id, with a TTL it renews. */
  readonly lease: string;
}

export function busKeys(prefix: string): BusKeys {
  return Object.freeze({
    channel: `${prefix}:frames`,
    frame: `${prefix}:frame`,
    meta: `${prefix}:meta`,
    lease: `${prefix}:lease`,
  });
}

/** What an edge needs to know about the model to render the classic page as the generator would. */
export interface BusMeta {
  model: string;
  device: string;
  pixelated: boolean;
}

/** A reconnect delay that doubles from 50 ms up to `cap`, with jitter so a fleet of edges does not reconnect in step. */
export function reconnectDelay(attempt: number, cap: number, random: () => number = Math.random): number {
  const ceiling = Math.min(cap, 50 * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
  return Math.max(1, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}

/** The backoff cap for a given interval: about one slot, between 100 ms and 1 s. */
export function reconnectCap(interval: number): number {
  return Math.min(1000, Math.max(100, interval));
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

export interface BusConnectionOptions {
  url: string;
  /** Connection name, shown in Redis `CLIENT LIST` and in log lines. */
  name: string;
  /** Milliseconds per slot: sets the reconnect cap and the command timeout. */
  interval: number;
  log: (line: string) => void;
}

export interface BusConnection {
  readonly redis: Redis;
  /** True when commands can be sent now. */
  connected(): boolean;
  /** Why the connection is down (the last error), or null while connected. */
  reason(): string | null;
  /** Calls `listener` each time the connection becomes ready (first connect and every reconnect); returns the remover. */
  onReady(listener: () => void): () => void;
  /** Starts connecting (and reconnecting, for ever, with backoff). */
  connect(): void;
  /** Quits, or disconnects at once if Redis does not answer. Idempotent. */
  close(): Promise<void>;
}

/**
 * One Redis connection. Commands never queue while it is down (a frame that cannot be
 * sent now is worth nothing later, and an offline queue of 128 KB frames grows without
 * bound); it reconnects with jittered backoff for as long as the process runs.
 */
export function createBusConnection(options: BusConnectionOptions): BusConnection {
  const cap = reconnectCap(options.interval);
  const redis = new Redis(options.url, {
    connectionName: options.name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 2000,
    commandTimeout: Math.max(1000, options.interval * 4),
    retryStrategy: (attempt) => reconnectDelay(attempt, cap),
  });
  const where = redactUrl(options.url);
  const readyListeners = new Set<() => void>();
  let lastError: string | null = 'not connected yet';
  let wasConnected = false;
  let reported = '';
  let closing: Promise<void> | null = null;

  function down(reason: string): void {
    lastError = reason;
    if (closing) return;
    // One line per kind of failure, not one per reconnect attempt.
    if (reason !== reported) options.log(`tpdne: ${options.name}: redis at ${where} unreachable: ${reason}`);
    reported = reason;
  }

  redis.on('error', function onRedisError(err: unknown) {
    down(describeError(err));
  });
  redis.on('close', function onRedisClose() {
    if (lastError === null) down('connection closed');
  });
  redis.on('ready', function onRedisReady() {
    lastError = null;
    if (reported !== '' || wasConnected) options.log(`tpdne: ${options.name}: redis at ${where} connected`);
    reported = '';
    wasConnected = true;
    for (const listener of readyListeners) listener();
  });

  return {
    redis,
    connected: () => redis.status === 'ready',
    reason: () => (redis.status === 'ready' ? null : (lastError ?? 'connection closed')),
    onReady(listener) {
      readyListeners.add(listener);
      return function removeReadyListener() {
        readyListeners.delete(listener);
      };
    },
    connect() {
      // lazyConnect: the first connect is ours; its failure is retried by retryStrategy.
      redis.connect().catch(function onFirstConnectError(err: unknown) {
        down(describeError(err));
      });
    },
    close() {
      closing ??= (async function quit() {
        readyListeners.clear();
        if (redis.status === 'ready') {
          const timer = setTimeout(() => redis.disconnect(), 500);
          await redis.quit().catch(() => undefined);
          clearTimeout(timer);
        }
        redis.disconnect();
      })();
      return closing;
    },
  };
}
