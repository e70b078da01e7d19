import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createOriginPolicy } from '../../server/http/origin-policy.js';

describe('origin policy', () => {
  it('allows everyone with *', () => {
    const policy = createOriginPolicy(['*']);
    assert.equal(policy.any, true);
    assert.equal(policy.allows('https://anyone.example', 'dream.example'), true);
    assert.deepEqual(policy.corsHeaders('https://anyone.example'), {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Expose-Headers': 'ETag, X-Tpdne-Slot',
    });
  });

  const policy = createOriginPolicy(['https://a.example', 'http://127.0.0.1:5000']);
  const cases: [string | undefined, string | undefined, boolean, string][] = [
    ['https://a.example', 'dream.example', true, 'listed'],
    ['HTTPS://A.EXAMPLE', 'dream.example', true, 'listed, any case'],
    ['http://127.0.0.1:5000', '127.0.0.1:8080', true, 'listed with port'],
    ['http://127.0.0.1:5001', '127.0.0.1:8080', false, 'other port'],
    ['https://b.example', 'dream.example', false, 'not listed'],
    ['https://a.example.evil', 'dream.example', false, 'prefix of a listed one'],
    ['null', 'dream.example', false, 'opaque origin'],
    ['http://dream.example:8080', 'dream.example:8080', true, "the server's own pages"],
    ['http://DREAM.example:8080', 'dream.example:8080', true, "the server's own pages, any case"],
    ['http://dream.example:8080', undefined, false, 'no Host header to compare'],
    [undefined, 'dream.example', true, 'no Origin: not a browser page'],
  ];
  for (const [origin, host, allowed, why] of cases) {
    it(`${allowed ? 'allows' : 'refuses'} ${origin} to ${host} (${why})`, () => {
      assert.equal(policy.any, false);
      assert.equal(policy.allows(origin, host), allowed);
    });
  }

  it('echoes a listed origin in CORS and varies on Origin', () => {
    assert.deepEqual(policy.corsHeaders('https://a.example'), {
      'Access-Control-Allow-Origin': 'https://a.example',
      'Access-Control-Expose-Headers': 'ETag, X-Tpdne-Slot',
      Vary: 'Origin',
    });
    assert.deepEqual(policy.corsHeaders('https://b.example'), { Vary: 'Origin' });
    assert.deepEqual(policy.corsHeaders(undefined), { Vary: 'Origin' });
  });
});
