/**
 * Frames per second over a sliding window, from arrival times. Keeps at most `capacity`
 * times, so a long-running page holds a fixed amount of memory.
 */
export class FrameRateMeter {
  private readonly times: number[] = [];

  /**
   * @param windowMs how far back arrivals count. Default 3000.
   * @param capacity most arrivals kept. Default 512.
   */
  constructor(
    private readonly windowMs = 3000,
    private readonly capacity = 512,
  ) {}

  /** Records one frame at `now` (ms, monotonic). */
  tick(now: number): void {
    this.times.push(now);
    if (this.times.length > this.capacity) this.times.shift();
    this.prune(now);
  }

  /** Frames per second over the window ending at `now`, or null with fewer than two frames in it. */
  rate(now: number): number | null {
    this.prune(now);
    const n = this.times.length;
    if (n < 2) return null;
    const span = this.times[n - 1]! - this.times[0]!;
    return span > 0 ? ((n - 1) * 1000) / span : null;
  }

  /** Forgets every arrival (after a reconnect, so the gap does not read as a slow rate). */
  reset(): void {
    this.times.length = 0;
  }

  private prune(now: number): void {
    while (this.times.length > 0 && this.times[0]! < now - this.windowMs) this.times.shift();
  }
}
