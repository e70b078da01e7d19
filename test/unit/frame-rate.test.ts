import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameRateMeter } from '../../client/shared/frame-rate.js';

describe('FrameRateMeter', () => {
  it('has no rate before two frames', () => {
    const meter = new FrameRateMeter();
    assert.equal(meter.rate(0), null);
    meter.tick(0);
    assert.equal(meter.rate(0), null);
  });

  it('measures frames per second over the window', () => {
    const meter = new FrameRateMeter(3000);
    for (let t = 0; t <= 5000; t += 250) meter.tick(t);
    assert.equal(meter.rate(5000), 4);
  });

  it('forgets frames older than the window, and everything on reset', () => {
    const meter = new FrameRateMeter(1000);
    for (let t = 0; t <= 2000; t += 100) meter.tick(t);
    assert.equal(meter.rate(2000), 10);
    assert.equal(meter.rate(3500), null, 'no frames for longer than the window');
    meter.tick(4000);
    meter.tick(4500);
    assert.equal(meter.rate(4500), 2);
    meter.reset();
    assert.equal(meter.rate(4500), null);
  });

  it('keeps at most `capacity` arrivals', () => {
    const meter = new FrameRateMeter(1e9, 8);
    for (let t = 0; t < 1000; t += 1) meter.tick(t);
    // The last 8 arrivals span 7 ms.
    assert.equal(meter.rate(999), 1000);
  });
});
