/** Slot arithmetic. A slot is one interval of wall-clock time: slot = floor(unixMs / interval). */

/** The slot that contains the instant `ms`. */
export function slotAt(ms: number, interval: number): number {
  return Math.floor(ms / interval);
}

/** The instant (unix ms) at which `slot` begins. */
export function slotStart(slot: number, interval: number): number {
  return slot * interval;
}

/** Milliseconds from `now` until `slot` begins (negative once it has begun). */
export function msUntilSlot(slot: number, interval: number, now: number): number {
  return slotStart(slot, interval) - now;
}
