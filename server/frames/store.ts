import type { Frame } from './frame.js';

export type FrameListener = (frame: Frame) => void;

/** The current frame plus a bounded ring of recent ones. The only shared state. */
export interface FrameStore {
  /** The latest published frame, or null before the first. */
  current(): Frame | null;
  /** A recent frame by slot; undefined once evicted or never made. */
  get(slot: number): Frame | undefined;
  /** Makes `frame` current and tells every subscriber. Older slots are ignored. */
  publish(frame: Frame): boolean;
  /** Calls `listener` for each new frame; returns the function that unsubscribes. */
  subscribe(listener: FrameListener): () => void;
  /** How many frames are kept. */
  readonly size: number;
}

/** @param capacity how many recent frames stay addressable by slot. */
export function createFrameStore(capacity: number): FrameStore {
  const frames = new Map<number, Frame>();
  const listeners = new Set<FrameListener>();
  let latest: Frame | null = null;
  return {
    current: () => latest,
    get: (slot) => frames.get(slot),
    publish(frame) {
      // Slots only move forward: a late or duplicate frame never replaces a newer one.
      if (latest && frame.slot <= latest.slot) return false;
      latest = frame;
      frames.set(frame.slot, frame);
      while (frames.size > capacity) frames.delete(frames.keys().next().value!);
      for (const listener of listeners) listener(frame);
      return true;
    },
    subscribe(listener) {
      listeners.add(listener);
      return function unsubscribe() {
        listeners.delete(listener);
      };
    },
    get size() {
      return frames.size;
    },
  };
}
