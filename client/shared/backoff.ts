/** Reconnection delays for the stream client. DOM-free, so node:test can test it. */

export interface BackoffOptions {
  /** First retry delay in ms. Default 500. */
  base: number;
  /** Largest delay in ms. Default 15000. */
  cap: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ base: 500, cap: 15_000 });

/** The ceiling of the delay before attempt `attempt` (0-based): `min(cap, base * 2^attempt)`. */
export function backoffCeiling(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  // 2^30 already passes any sane cap; clamping keeps huge attempt counts finite.
  return Math.min(options.cap, options.base * 2 ** Math.min(Math.max(0, attempt), 30));
}

/**
 * Delay before reconnect attempt `attempt` (0-based): "full jitter" exponential backoff,
 * uniform in [0, min(cap, base * 2^attempt)], so a server restart is not met by every
 * viewer at the same instant.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  return Math.round(backoffCeiling(attempt, options) * random());
}
