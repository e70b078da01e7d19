import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseAddress, viewerAddress } from '../../server/stream/viewer-address.js';
import { createViewerGate } from '../../server/stream/viewer-gate.js';

describe('viewer addresses', () => {
  const forms: [string, string][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['0000:0000:0000:0000:0000:ffff:7f00:0001', '::ffff:127.0.0.1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::1', '::1'],
    ['not:an:address:at:all:x', 'not:an:address:at:all:x'],
  ];
  for (const [raw, expected] of forms) {
    it(`normalises ${raw} to ${expected}, as Node reports it`, () => assert.equal(normaliseAddress(raw), expected));
  }

  const forwarded: [string, string | undefined, string][] = [
    ['127.0.0.1', '1.2.3.4, 5.6.7.8', '5.6.7.8'],
    ['::1', '9.9.9.9', '9.9.9.9'],
    ['::ffff:127.0.0.1', '2001:db8::1', '2001:db8::1'],
    ['127.0.0.1', undefined, '127.0.0.1'],
    ['127.0.0.1', ' , ', '127.0.0.1'],
    ['203.0.113.7', '1.2.3.4', '203.0.113.7'],
  ];
  for (const [remote, xff, expected] of forwarded) {
    it(`takes ${expected} for a socket from ${remote} with X-Forwarded-For ${String(xff)}`, () => assert.equal(viewerAddress(remote, xff), expected));
  }
});

describe('viewer gate', () => {
  const req = (address: string, url = '/stream', origin?: string) => ({ url, origin, host: 'tpdne.example', address });

  it('admits up to each cap, counts refusals, and gives a place back once per release', () => {
    const gate = createViewerGate({ path: '/stream', maxViewers: 3, maxViewersPerIp: 2, allowOrigin: ['https://a.example'] });
    const a1 = gate.admit(req('a'));
    const a2 = gate.admit(req('a', '/stream?x=1'));
    assert.equal(a1.status, 101);
    assert.equal(a2.status, 101);
    assert.deepEqual(gate.admit(req('a')), { status: 503, reason: 'Service Unavailable' });
    assert.equal(gate.admit(req('b')).status, 101);
    assert.deepEqual(gate.admit(req('c')), { status: 503, reason: 'Service Unavailable' });
    if (a1.status !== 101) return;
    a1.release();
    a1.release();
    assert.equal(gate.admit(req('c')).status, 101, 'one place back, not two');
    assert.equal(gate.admit(req('d')).status, 503);
    assert.deepEqual(gate.stats(), { refused: 3, forbidden: 0 });
  });

  const refusals: [string, ReturnType<typeof req>, number][] = [
    ['another path', req('a', '/streams'), 404],
    ['another origin', req('a', '/stream', 'https://evil.example'), 403],
  ];
  for (const [name, request, status] of refusals) {
    it(`refuses ${name} with ${status}`, () => {
      const gate = createViewerGate({ path: '/stream', maxViewers: 3, maxViewersPerIp: 2, allowOrigin: ['https://a.example'] });
      assert.equal(gate.admit(request).status, status);
    });
  }

  it('refuses every upgrade with 503 once closed', () => {
    const gate = createViewerGate({ path: '/stream', maxViewers: 3, maxViewersPerIp: 2, allowOrigin: ['*'] });
    gate.close();
    assert.deepEqual(gate.admit(req('a')), { status: 503, reason: 'Service Unavailable' });
    assert.equal(gate.admit(req('a', '/other')).status, 404);
  });
});
