import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveServeOptions } from '../../server/options.js';
import { main } from '../../server/cli/main.js';
import { serveHelp } from '../../server/cli/serve-flags.js';
import { busKeys, reconnectCap, reconnectDelay, redactUrl } from '../../server/bus/redis-bus.js';
import { leaseTiming } from '../../server/bus/lease.js';
import { frameTtl } from '../../server/bus/publisher.js';

describe('--role and --redis', () => {
  it('defaults to a single server without Redis', () => {
    const o = resolveServeOptions({});
    assert.equal(o.role, 'all');
    assert.equal(o.redis, null);
    assert.equal(o.redisPrefix, 'tpdne');
  });

  it('accepts the generator and edge roles with a redis URL', () => {
    const g = resolveServeOptions({ role: 'generator', redis: 'redis://127.0.0.1:6379' });
    assert.equal(g.role, 'generator');
    assert.equal(g.redis, 'redis://127.0.0.1:6379');
    const e = resolveServeOptions({ role: 'edge', redis: 'rediss://user:secret@cache.example:6380/2', redisPrefix: 'site-b:v1' });
    assert.equal(e.role, 'edge');
    assert.equal(e.redis, 'rediss://user:secret@cache.example:6380/2');
    assert.equal(e.redisPrefix, 'site-b:v1');
  });

  const bad: [Record<string, unknown>, string][] = [
    [{ role: 'relay' }, "Expected one of all, generator, edge for --role but received 'relay'"],
    [{ role: 'edge' }, 'Expected a redis:// or rediss:// URL (required with --role edge) for --redis but received nothing'],
    [{ role: 'edge', redis: 'redis://127.0.0.1', model: 'm.onnx' }, "Expected no model with --role edge (an edge serves the frames Redis carries) for --model but received 'm.onnx'"],
    [{ role: 'generator' }, 'Expected a redis:// or rediss:// URL (required with --role generator) for --redis but received nothing'],
    [{ role: 'edge', redis: 'http://127.0.0.1:6379' }, "Expected a redis:// or rediss:// URL for --redis but received 'http://127.0.0.1:6379'"],
    [{ role: 'edge', redis: 'localhost:6379' }, "Expected a redis:// or rediss:// URL for --redis but received 'localhost:6379'"],
    [{ role: 'edge', redis: 'redis://' }, "Expected a redis:// or rediss:// URL for --redis but received 'redis://'"],
    [{ role: 'edge', redis: '' }, "Expected a non-empty string for --redis but received ''"],
    [{ role: 'edge', redis: 6379 }, 'Expected a non-empty string for --redis but received 6379'],
    [{ redis: 'redis://127.0.0.1' }, "Expected generator or edge (with --redis) for --role but received 'all'"],
    [{ role: 'edge', redis: 'redis://h', redisPrefix: 'a b' }, "Expected letters, digits and _.:- (at most 64) for --redis-prefix but received 'a b'"],
    [{ role: 'edge', redis: 'redis://h', redisPrefix: 'x'.repeat(65) }, `Expected letters, digits and _.:- (at most 64) for --redis-prefix but received '${'x'.repeat(65)}'`],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => resolveServeOptions(input as never), { code: 'ERR_INVALID_OPTION', message });
    });
  }

  it('the CLI refuses an edge without Redis in one line, exit code 1', async () => {
    let err = '';
    const code = await main(['serve', '--role', 'edge', '--port', '0'], { out: () => {}, err: (t) => (err += t) });
    assert.equal(code, 1);
    assert.equal(err, 'tpdne: Expected a redis:// or rediss:// URL (required with --role edge) for --redis but received nothing\n');
  });

  it('--help documents the bus flags', () => {
    const help = serveHelp();
    assert.match(help, /--role all\|generator\|edge +.*\(default: all\)/);
    assert.match(help, /--redis <url> +.*\(default: off\)/);
    assert.match(help, /--redis-prefix <name> +.*\(default: tpdne\)/);
  });
});

describe('bus timing', () => {
  it('names the keys after the prefix', () => {
    assert.deepEqual({ ...busKeys('site') }, { channel: 'site:frames', frame: 'site:frame', meta: 'site:meta', lease: 'site:lease' });
  });

  it('reconnects with doubling, jittered, capped delays', () => {
    const cap = reconnectCap(250);
    assert.equal(cap, 250);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 30].map((n) => reconnectDelay(n, cap, () => 1)),
      [50, 100, 200, 250, 250, 250],
    );
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => reconnectDelay(n, cap, () => 0)),
      [25, 50, 100, 125],
    );
    assert.equal(reconnectCap(20), 100);
    assert.equal(reconnectCap(60_000), 1000);
  });

  it('sizes the lease so a standby takes over within two intervals', () => {
    for (const interval of [20, 100, 250, 1000, 5000]) {
      const { ttl, tick } = leaseTiming(interval);
      // Worst case: the holder dies right after renewing; the lease expires after ttl, a standby claims on its next tick.
      assert.ok(ttl + tick <= 2 * interval, `ttl ${ttl} + tick ${tick} within two intervals of ${interval}`);
      // The holder renews several times per TTL, so one slow round trip does not lose it.
      assert.ok(ttl >= 4 * tick, `ttl ${ttl} covers four ticks of ${tick}`);
    }
    assert.deepEqual(leaseTiming(250), { ttl: 313, tick: 63 });
    assert.deepEqual(leaseTiming(3_600_000), { ttl: 10_000, tick: 2000 });
  });

  it('keeps the latest frame for ten intervals, at least 2 s', () => {
    assert.equal(frameTtl(250), 2500);
    assert.equal(frameTtl(100), 2000);
  });

  it('never logs a Redis password', () => {
    assert.equal(redactUrl('redis://user:hunter2@cache:6379/1'), 'redis://user:***@cache:6379/1');
    assert.equal(redactUrl('redis://cache:6379'), 'redis://cache:6379');
  });
});
