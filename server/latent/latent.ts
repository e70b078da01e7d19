import type { LatentDistribution } from '../options.js';

/** murmur3's 32-bit finaliser: a good avalanche for mixing seed and slot. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: a tiny 32-bit PRNG; returns uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return function next(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The PRNG state for (seed, stream): slots run past 2^32, so both halves are mixed in. */
export function streamSeed(seed: number, stream: number): number {
  const lo = stream >>> 0;
  const hi = Math.floor(stream / 4294967296) >>> 0;
  return fmix32(fmix32(seed >>> 0) ^ fmix32((lo + 0x9e3779b9) >>> 0) ^ fmix32((hi + 0x7f4a7c15) >>> 0));
}

/**
 * The latent for a slot: a pure function of (seed, slot, dims, distribution), so every
 * server with the same model and seed dreams the same image for the same slot.
 */
export function latentFor(
  seed: number,
  slot: number,
  length: number,
  distribution: LatentDistribution,
  out: Float32Array = new Float32Array(length),
): Float32Array {
  const random = mulberry32(streamSeed(seed, slot));
  if (distribution === 'uniform') {
    for (let i = 0; i < length; i++) out[i] = random() * 2 - 1;
    return out;
  }
  // Box-Muller, two normals per pair of uniforms; 1 - u keeps log() away from 0.
  for (let i = 0; i < length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    out[i] = r * Math.cos(theta);
    if (i + 1 < length) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}
