import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  crossfadeDuration,
  parseCrossfade,
  parseFit,
  resolveStreamUrl,
  MAX_CROSSFADE,
  type CrossfadeSetting,
  type Fit,
} from '../../client/shared/embed-attributes.js';

describe('<tpdne-stream> attributes', () => {
  const fits: [string | null, Fit][] = [
    [null, 'contain'],
    ['', 'contain'],
    ['contain', 'contain'],
    ['cover', 'cover'],
    [' COVER ', 'cover'],
    ['fill', 'contain'],
    ['cover contain', 'contain'],
  ];
  for (const [value, fit] of fits) {
    it(`fit=${JSON.stringify(value)} is ${fit}`, () => assert.equal(parseFit(value), fit));
  }

  const crossfades: [string | null, CrossfadeSetting][] = [
    [null, 'auto'],
    ['', 'auto'],
    ['auto', 'auto'],
    ['AUTO', 'auto'],
    ['0', 0],
    ['400', 400],
    [' 250 ', 250],
    ['10000', 10000],
    ['99999999', MAX_CROSSFADE],
    ['-5', 'auto'],
    ['1.5', 'auto'],
    ['1e3', 'auto'],
    ['fast', 'auto'],
  ];
  for (const [value, setting] of crossfades) {
    it(`crossfade=${JSON.stringify(value)} is ${setting}`, () => assert.equal(parseCrossfade(value), setting));
  }

  it('fades for one interval on auto, the given ms otherwise, and never under reduced motion', () => {
    assert.equal(crossfadeDuration('auto', 250, false), 250);
    assert.equal(crossfadeDuration('auto', 60_000, false), MAX_CROSSFADE);
    assert.equal(crossfadeDuration(400, 250, false), 400);
    assert.equal(crossfadeDuration(0, 250, false), 0);
    assert.equal(crossfadeDuration('auto', 250, true), 0);
    assert.equal(crossfadeDuration(400, 250, true), 0);
  });

  const script = 'https://dream.example/embed.js';
  const page = 'https://blog.example/posts/1.html';
  const sources: [string | null, string | null][] = [
    [null, 'wss://dream.example/stream'],
    ['', 'wss://dream.example/stream'],
    ['  ', 'wss://dream.example/stream'],
    ['https://dream.example', 'wss://dream.example/stream'],
    ['https://dream.example/', 'wss://dream.example/stream'],
    ['http://127.0.0.1:8080', 'ws://127.0.0.1:8080/stream'],
    ['https://example.com/tpdne', 'wss://example.com/tpdne/stream'],
    ['https://example.com/tpdne/?x=1#y', 'wss://example.com/tpdne/stream'],
    ['//dream.example', 'wss://dream.example/stream'],
    ['/', 'wss://blog.example/stream'],
    ['wss://dream.example/custom', 'wss://dream.example/custom'],
    ['ws://127.0.0.1:9/stream', 'ws://127.0.0.1:9/stream'],
    ['ftp://dream.example', null],
    ['javascript:alert(1)', null],
    ['http://[bad', null],
  ];
  for (const [src, url] of sources) {
    it(`src=${JSON.stringify(src)} streams from ${url}`, () => assert.equal(resolveStreamUrl(src, script, page), url));
  }

  it('defaults to the folder embed.js came from, so a path prefix carries over', () => {
    assert.equal(resolveStreamUrl(null, 'https://example.com/tpdne/embed.js', page), 'wss://example.com/tpdne/stream');
  });
});
