import { latentFor } from './latent.js';
import type { LatentDistribution, Walk } from '../options.js';

/**
 * Spherical linear interpolation from `a` (t = 0) to `b` (t = 1) along the great circle
 * through them. For Gaussian latents this keeps every point at the norm a fresh sample
 * would have (linear interpolation shrinks it towards the middle, where a GAN's images
 * go grey and bland). Nearly parallel vectors fall back to linear interpolation.
 */
export function slerp(a: Float32Array, b: Float32Array, t: number, out: Float32Array = new Float32Array(a.length)): Float32Array {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const cos = Math.min(1, Math.max(-1, dot / (Math.sqrt(na * nb) || 1)));
  const omega = Math.acos(cos);
  const sin = Math.sin(omega);
  const [wa, wb] = sin < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / sin, Math.sin(t * omega) / sin];
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i]! + wb * b[i]!;
  return out;
}

/** The walk of the latents over slots: `--walk` and `--keyframes`. */
export interface WalkOptions {
  /** `jump`: a fresh latent every slot; `slerp`: arcs between keyframes. Default `jump`. */
  readonly walk: Walk;
  /** Slots from one keyframe to the next (at least 2). Default `16`. */
  readonly keyframes: number;
}

/** The keyframe slots around `slot` and how far between them it is (t in [0, 1)). */
export function keyframeSpan(slot: number, keyframes: number): { from: number; to: number; t: number } {
  const from = Math.floor(slot / keyframes) * keyframes;
  return { from, to: from + keyframes, t: (slot - from) / keyframes };
}

/**
 * The latent of a slot under a walk: still a pure function of (seed, slot). With `jump`
 * it is {@link latentFor}. With `slerp`, keyframes sit on the slots that are multiples of
 * `keyframes` and carry exactly the jump latent of their slot; the slots between move
 * along the great-circle arc from one keyframe's latent to the next's, so the stream
 * morphs continuously and every frame is still a plausible sample.
 */
export function walkLatentFor(
  seed: number,
  slot: number,
  length: number,
  distribution: LatentDistribution,
  walk: WalkOptions,
): Float32Array {
  if (walk.walk === 'jump') return latentFor(seed, slot, length, distribution);
  const { from, to, t } = keyframeSpan(slot, walk.keyframes);
  const a = latentFor(seed, from, length, distribution);
  if (t === 0) return a;
  return slerp(a, latentFor(seed, to, length, distribution), t);
}
