import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fitRect } from '../../client/shared/fit.js';

describe('fitRect', () => {
  it('contain letterboxes a square image in a wide box', () => {
    assert.deepEqual(fitRect(512, 512, 200, 100, 'contain'), { x: 50, y: 0, width: 100, height: 100 });
  });
  it('cover crops a square image to fill a wide box', () => {
    assert.deepEqual(fitRect(512, 512, 200, 100, 'cover'), { x: 0, y: -50, width: 200, height: 200 });
  });
  it('contain and cover agree when the aspect ratios match', () => {
    assert.deepEqual(fitRect(64, 32, 640, 320, 'contain'), { x: 0, y: 0, width: 640, height: 320 });
    assert.deepEqual(fitRect(64, 32, 640, 320, 'cover'), { x: 0, y: 0, width: 640, height: 320 });
  });
  it('contain in a tall box centres vertically', () => {
    assert.deepEqual(fitRect(100, 100, 100, 300, 'contain'), { x: 0, y: 100, width: 100, height: 100 });
  });
  const empty: [number, number, number, number][] = [
    [0, 512, 100, 100],
    [512, 0, 100, 100],
    [512, 512, 0, 100],
    [512, 512, 100, 0],
    [NaN, 512, 100, 100],
  ];
  for (const [w, h, bw, bh] of empty) {
    it(`gives an empty rect for ${w}x${h} in ${bw}x${bh}`, () => {
      assert.deepEqual(fitRect(w, h, bw, bh, 'cover'), { x: 0, y: 0, width: 0, height: 0 });
    });
  }
});
