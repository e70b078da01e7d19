import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { slerp, walkLatentFor, keyframeSpan } from '../../server/latent/walk.js';
import { latentFor } from '../../server/latent/latent.js';

const norm = (v: Float32Array): number => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
const distance = (a: Float32Array, b: Float32Array): number => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0));
const SLERP = { walk: 'slerp', keyframes: 16 } as const;

describe('slerp', () => {
  it('starts at a, ends at b and stays on the arc', () => {
    const a = Float32Array.of(1, 0);
    const b = Float32Array.of(0, 1);
    assert.deepEqual([...slerp(a, b, 0)], [1, 0]);
    const end = slerp(a, b, 1);
    assert.ok(Math.abs(end[0]!) < 1e-6 && Math.abs(end[1]! - 1) < 1e-6);
    const mid = slerp(a, b, 0.5);
    assert.ok(Math.abs(mid[0]! - Math.SQRT1_2) < 1e-6 && Math.abs(mid[1]! - Math.SQRT1_2) < 1e-6);
  });

  it('falls back to linear interpolation for parallel vectors', () => {
    assert.deepEqual([...slerp(Float32Array.of(2, 2), Float32Array.of(2, 2), 0.3)].map((x) => Math.round(x * 1e6) / 1e6), [2, 2]);
  });
});

describe('walkLatentFor', () => {
  it('is latentFor under jump', () => {
    for (const slot of [0, 5, 7_185_359_987]) {
      assert.deepEqual(walkLatentFor(3, slot, 64, 'normal', { walk: 'jump', keyframes: 16 }), latentFor(3, slot, 64, 'normal'));
    }
  });

  it('gives keyframe slots exactly their jump latents, and is pure', () => {
    for (const slot of [0, 16, 32, 7_185_359_984, -16]) {
      assert.deepEqual(walkLatentFor(3, slot, 64, 'normal', SLERP), latentFor(3, slot, 64, 'normal'), `slot ${slot}`);
    }
    assert.deepEqual(walkLatentFor(3, 7_185_359_990, 64, 'normal', SLERP), walkLatentFor(3, 7_185_359_990, 64, 'normal', SLERP));
  });

  it('finds the keyframes around any slot, negative ones included', () => {
    assert.deepEqual(keyframeSpan(37, 16), { from: 32, to: 48, t: 5 / 16 });
    assert.deepEqual(keyframeSpan(-1, 16), { from: -16, to: 0, t: 15 / 16 });
  });

  it('moves in small steps between keyframes and arrives at the next one', () => {
    const base = 7_185_359_984; // a keyframe (a multiple of 16)
    const path = Array.from({ length: 17 }, (_, i) => walkLatentFor(9, base + i, 512, 'normal', SLERP));
    const steps = path.slice(1).map((v, i) => distance(v, path[i]!));
    const jump = distance(path[0]!, path[16]!);
    assert.ok(Math.max(...steps) < jump / 8, `largest step ${Math.max(...steps)} vs keyframe distance ${jump}`);
    // The slot before the next keyframe is one small step from it.
    assert.ok(distance(path[15]!, latentFor(9, base + 16, 512, 'normal')) < jump / 8);
  });

  it('keeps the norm of Gaussian latents (linear interpolation would shrink it by ~30% mid-way)', () => {
    const base = 160;
    const ends = norm(latentFor(4, base, 512, 'normal'));
    const mid = norm(walkLatentFor(4, base + 8, 512, 'normal', SLERP));
    assert.ok(Math.abs(mid / ends - 1) < 0.1, `mid-way norm ${mid} vs ${ends}`);
  });
});
