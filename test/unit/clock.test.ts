import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { slotAt, slotStart, msUntilSlot } from '../../server/clock/slot.js';
import { latentFor, streamSeed } from '../../server/latent/latent.js';

describe('slot clock', () => {
  it('is floor(unix ms / interval)', () => {
    assert.equal(slotAt(0, 250), 0);
    assert.equal(slotAt(249, 250), 0);
    assert.equal(slotAt(250, 250), 1);
    assert.equal(slotAt(1_796_326_600_123, 250), 7_185_306_400);
    assert.equal(slotAt(1_000, 333), 3);
  });
  it('maps a slot back to its start', () => {
    assert.equal(slotStart(7_185_306_400, 250), 1_796_326_600_000);
    assert.equal(msUntilSlot(10, 250, 2_400), 100);
    assert.equal(msUntilSlot(10, 250, 2_600), -100);
    for (const ms of [0, 1, 249, 250, 1_796_326_600_123]) {
      const s = slotAt(ms, 250);
      assert.ok(slotStart(s, 250) <= ms && ms < slotStart(s + 1, 250));
    }
  });
});

const PINNED_NORMAL = [9307, 19585, 22972, -23918];
const PINNED_UNIFORM = [8095, -6412, 9918, 7436];

describe('latentFor', () => {
  it('is a pure function of (seed, slot)', () => {
    const a = latentFor(7, 7_185_306_400, 512, 'normal');
    const b = latentFor(7, 7_185_306_400, 512, 'normal');
    assert.deepEqual(a, b);
  });
  it('differs between slots, seeds and the two halves of a slot past 2^32', () => {
    const base = latentFor(7, 10, 16, 'normal');
    assert.notDeepEqual(latentFor(7, 11, 16, 'normal'), base);
    assert.notDeepEqual(latentFor(8, 10, 16, 'normal'), base);
    assert.notEqual(streamSeed(1, 5), streamSeed(1, 5 + 2 ** 32));
  });
  it('draws uniform latents in [-1, 1) and normal latents with mean ~0, sd ~1', () => {
    const u = latentFor(3, 99, 20_000, 'uniform');
    assert.ok(u.every((v) => v >= -1 && v < 1));
    const n = latentFor(3, 99, 20_001, 'normal');
    const mean = n.reduce((a, b) => a + b, 0) / n.length;
    const sd = Math.sqrt(n.reduce((a, b) => a + (b - mean) ** 2, 0) / n.length);
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(sd - 1) < 0.03, `sd ${sd}`);
    assert.ok(n.every(Number.isFinite));
  });
  it('pins the values, so a change to the generator is a visible break', () => {
    assert.deepEqual(Array.from(latentFor(42, 123_456_789_012, 4, 'normal'), (v) => Math.round(v * 1e4)), PINNED_NORMAL);
    assert.deepEqual(Array.from(latentFor(42, 123_456_789_012, 4, 'uniform'), (v) => Math.round(v * 1e4)), PINNED_UNIFORM);
  });
});
