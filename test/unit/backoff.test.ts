import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffCeiling, backoffDelay, DEFAULT_BACKOFF } from '../../client/shared/backoff.js';

describe('reconnect backoff', () => {
  it('defaults to 500 ms doubling up to a 15 s cap', () => {
    assert.deepEqual({ ...DEFAULT_BACKOFF }, { base: 500, cap: 15000 });
    const ceilings = Array.from({ length: 9 }, (_, attempt) => backoffCeiling(attempt));
    assert.deepEqual(ceilings, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000]);
  });

  it('is full jitter: uniform between 0 and the ceiling', () => {
    assert.equal(backoffDelay(3, DEFAULT_BACKOFF, () => 0), 0);
    assert.equal(backoffDelay(3, DEFAULT_BACKOFF, () => 0.5), 2000);
    assert.equal(backoffDelay(3, DEFAULT_BACKOFF, () => 0.999999), 4000);
    assert.equal(backoffDelay(0, { base: 100, cap: 1000 }, () => 0.25), 25);
  });

  it('spreads real random delays over the whole range and never past the cap', () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(10, DEFAULT_BACKOFF));
    assert.ok(delays.every((d) => Number.isInteger(d) && d >= 0 && d <= 15000));
    assert.ok(Math.min(...delays) < 1500 && Math.max(...delays) > 13500, 'jittered across the range');
  });

  const odd: [number, number][] = [
    [-1, 500],
    [31, 15000],
    [1e9, 15000],
    [Number.MAX_SAFE_INTEGER, 15000],
  ];
  for (const [attempt, ceiling] of odd) {
    it(`keeps attempt ${attempt} finite (ceiling ${ceiling})`, () => {
      assert.equal(backoffCeiling(attempt), ceiling);
      assert.equal(backoffDelay(attempt, DEFAULT_BACKOFF, () => 1), ceiling);
    });
  }
});
