import type { Server } from 'node:http';
import type { ResolvedServeOptions, Transport as TransportChoice } from '../options.js';
import type { FrameStore } from '../frames/store.js';
import type { HttpHandler } from '../http/exchange.js';
import type { StreamStats } from './ws-stream.js';
import { TpdneError, ErrorCodes, describeError } from '../errors.js';
import { loadUws } from './uws-loader.js';

/** The transport that serves: `ws` (Node's http and the ws library) or `uws` (uWebSockets.js). */
export type TransportName = Exclude<TransportChoice, 'auto'>;

/**
 * What serves HTTP and the stream. Both transports implement it with the same routes
 * (one {@link HttpHandler}), the same viewer gate and the same stream messages.
 */
export interface Transport {
  readonly name: TransportName;
  /** The port it listens on (the chosen one when --port is 0). */
  readonly port: number;
  /** Node's HTTP server: the `ws` transport only. */
  readonly server: Server | null;
  /**
   * Routes requests to `handler` and streams the frames of `store` at `/stream` from
   * now on. Until then every request gets 503 (starting) and upgrades are refused.
   */
  serve(handler: HttpHandler, store: FrameStore): void;
  stats(): StreamStats;
  /** Stops accepting, closes viewers with 1001, then every connection. Idempotent. */
  close(): Promise<void>;
}

/** The answer before {@link Transport.serve}: the model is still loading. */
export const STARTING = Object.freeze({
  status: 503,
  headers: Object.freeze({ 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '1', 'Cache-Control': 'no-store' }),
  body: 'Starting\n',
});

/** Empty stream counters, for a transport that has no stream yet. */
export const NO_VIEWERS: StreamStats = Object.freeze({ viewers: 0, skipped: 0, refused: 0, forbidden: 0, bufferedBytes: 0 });

/**
 * Binds the transport `options.transport` names. `auto` takes uWebSockets.js when it
 * loads, else logs one line and takes ws; an explicit `uws` that cannot load fails here,
 * with the reason, before anything else starts. uWebSockets.js is imported only then.
 */
export async function startTransport(options: ResolvedServeOptions): Promise<Transport> {
  if (options.transport !== 'ws') {
    let uws: Awaited<ReturnType<typeof loadUws>> | null = null;
    try {
      uws = await loadUws();
    } catch (err) {
      if (options.transport === 'uws') {
        throw new TpdneError(
          ErrorCodes.TRANSPORT_UNAVAILABLE,
          `Expected uWebSockets.js to load for --transport uws but it did not: ${describeError(err)} (see README "uWebSockets.js", or use --transport ws)`,
          { cause: err },
        );
      }
      options.log(`tpdne: --transport auto: uWebSockets.js did not load (${describeError(err)}); using ws`);
    }
    if (uws) return (await import('./uws-transport.js')).startUwsTransport(uws, options);
  }
  return (await import('./ws-transport.js')).startWsTransport(options);
}
