import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { connectRawViewer, type RawViewer } from '../helpers/bus.js';
import { skipUnlessProgram } from '../helpers/system.js';
import { slotAt } from '../../server/clock/slot.js';
import { decodeFrameMessage } from '../../client/shared/protocol.js';
import { createLease } from '../../server/bus/lease.js';
import { createFrameStore } from '../../server/frames/store.js';
import { createFrame } from '../../server/frames/frame.js';
import { frameMessage } from '../../server/stream/message.js';
import { startBusEdge } from '../../server/bus/edge.js';

const INTERVAL = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('Redis frame bus: one generator, two edges', { skip: skipUnlessProgram('redis-server', 'redis-server') }, () => {
  let redis: TestRedis;
  let generator: TestServer;
  let edges: TestServer[] = [];
  const viewers: RawViewer[] = [];

  before(async () => {
    redis = await startRedis();
    const bus = { redis: redis.url, redisPrefix: 'pair', interval: INTERVAL };
    generator = await startTestServer({ role: 'generator', size: 64, ...bus });
    edges = [await startTestServer({ role: 'edge', ...bus }), await startTestServer({ role: 'edge', ...bus })];
  });

  after(async () => {
    await Promise.allSettled(viewers.map((v) => v.close()));
    await Promise.allSettled([generator?.close(), ...edges.map((e) => e.close())]);
    await redis?.close();
  });

  it('viewers on both edges receive byte-identical frames for every slot over 20 slots', async () => {
    await until('the generator to take the lease', () => (generator.health().bus as { leader: boolean }).leader);
    viewers.push(await connectRawViewer(edges[0]!.url), await connectRawViewer(edges[1]!.url), await connectRawViewer(generator.url));
    const [a, b, own] = viewers as [RawViewer, RawViewer, RawViewer];
    // Start one slot after every viewer is connected, so each saw the first slot arrive live.
    const first = slotAt(Date.now(), INTERVAL) + 2;
    const last = first + 19;
    await Promise.all([a.untilSlot(last), b.untilSlot(last)]);
    for (let slot = first; slot <= last; slot++) {
      const fromA = a.messages.get(slot);
      const fromB = b.messages.get(slot);
      assert.ok(fromA, `edge A got slot ${slot}`);
      assert.ok(fromB, `edge B got slot ${slot}`);
      assert.ok(fromA.equals(fromB), `slot ${slot} is byte-identical on both edges`);
      // The very message the generator's own viewers get: the bus carries the wire format.
      assert.ok(fromA.equals(own.messages.get(slot)!), `slot ${slot} is the generator's own message`);
      assert.equal(decodeFrameMessage(fromA).slot, slot);
    }
    // In slot order, no duplicates.
    for (const v of [a, b]) {
      const window = v.slots.filter((s) => s >= first && s <= last);
      assert.deepEqual(window, Array.from({ length: 20 }, (_, i) => first + i));
    }
    const health = edges[0]!.health();
    assert.equal(health.status, 'ok');
    assert.equal(health.role, 'edge');
    assert.equal(health.model, 'builtin-cppn');
    assert.equal(health.device, 'none');
    const bus = health.bus as { applied: number; rejected: number; connected: boolean };
    assert.equal(bus.connected, true);
    assert.equal(bus.rejected, 0);
    assert.ok(bus.applied >= 20, `applied ${bus.applied}`);
  });

  it('edges serve the same HTTP bytes and pages as the generator', async () => {
    const slot = viewers[0]!.slots.at(-3)!;
    const original = generator.store.get(slot)!;
    for (const edge of edges) {
      const res = await fetch(`${edge.url}/frames/${slot}.webp`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(res.headers.get('etag'), original.etag);
      assert.equal(res.headers.get('last-modified'), new Date(original.createdAt).toUTCString());
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(original.bytes));
      const page = await fetch(`${edge.url}/`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /<b>builtin-cppn<\/b> dreamed it/);
      assert.match(html, /src="\/frames\/\d+\.webp" width="64" height="64"/);
      const live = await fetch(`${edge.url}/live`);
      assert.equal(live.status, 200);
    }
  });

  it('an edge started late serves the current frame in its first response', async () => {
    const startedAt = Date.now();
    const late = await startTestServer({ role: 'edge', redis: redis.url, redisPrefix: 'pair', interval: INTERVAL });
    edges.push(late);
    const res = await fetch(`${late.url}/image.webp`);
    assert.equal(res.status, 200);
    const slot = Number(res.headers.get('x-tpdne-slot'));
    // The frame current when the edge started (or a newer one).
    assert.ok(slot >= slotAt(startedAt, INTERVAL) - 1, `slot ${slot} is current at ${slotAt(startedAt, INTERVAL)}`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(generator.store.get(slot)!.bytes));
    const bus = late.health().bus as { received: number };
    assert.ok(bus.received >= 1);
  });

  it('an edge with no generator on the bus starts and says so', async () => {
    const lonely = await startTestServer({ role: 'edge', redis: redis.url, redisPrefix: 'nobody', interval: INTERVAL });
    edges.push(lonely);
    const res = await fetch(`${lonely.url}/image.webp`);
    assert.equal(res.status, 503);
    await res.arrayBuffer();
    const health = lonely.health();
    assert.equal(health.status, 'starting');
    assert.equal(health.reason, 'no frame from a generator yet');
    assert.equal(health.model, 'unknown');
  });

  it('an edge refuses frames of another format or interval, and reports why', async () => {
    const client = new Redis(redis.url);
    const store = createFrameStore(4);
    const logs: string[] = [];
    const edge = await startBusEdge({ url: redis.url, prefix: 'mixed', store, interval: INTERVAL, format: 'webp', log: (l) => logs.push(l) });
    try {
      const jpeg = createFrame({ slot: 10, createdAt: 1, width: 2, height: 2, format: 'jpeg', bytes: Buffer.from([1, 2, 3]) });
      const webp = createFrame({ slot: 11, createdAt: 2, width: 2, height: 2, format: 'webp', bytes: Buffer.from([4, 5, 6]) });
      const older = createFrame({ slot: 9, createdAt: 3, width: 2, height: 2, format: 'webp', bytes: Buffer.from([7]) });
      // frameMessage keeps one message per frame object: another object for the other interval.
      const otherInterval = createFrame({ ...webp });
      await client.publish('mixed:frames', frameMessage(jpeg, INTERVAL));
      await client.publish('mixed:frames', frameMessage(otherInterval, 100));
      await client.publish('mixed:frames', Buffer.from('not a frame'));
      await until('three refusals', () => edge.busStats().rejected === 3);
      assert.equal(store.current(), null);
      assert.equal(edge.busStats().status, 'degraded');
      assert.equal(edge.busStats().reason, 'Message of 11 bytes is shorter than a header');
      assert.ok(logs.includes('tpdne: edge refused a frame: frames on the bus are jpeg, this edge serves --format webp'));
      assert.ok(logs.includes('tpdne: edge refused a frame: frames on the bus are made every 100 ms, this edge has --interval 250'));
      await client.publish('mixed:frames', frameMessage(webp, INTERVAL));
      await client.publish('mixed:frames', frameMessage(webp, INTERVAL));
      await client.publish('mixed:frames', frameMessage(older, INTERVAL));
      await until('three more messages', () => edge.busStats().received === 6);
      const stats = edge.busStats();
      assert.deepEqual(
        { applied: stats.applied, stale: stats.stale, rejected: stats.rejected, lastSlot: stats.lastSlot, status: stats.status },
        { applied: 1, stale: 2, rejected: 3, lastSlot: 11, status: 'ok' },
      );
      assert.ok(store.current()!.bytes.equals(Buffer.from([4, 5, 6])));
      // The edge's viewers get the message as it came off the bus.
      assert.ok(frameMessage(store.current()!, 999).equals(frameMessage(webp, INTERVAL)));
    } finally {
      await edge.close();
      client.disconnect();
    }
  });

  it('only the lease holder renews: a lease taken by another is not extended', async () => {
    const client = new Redis(redis.url);
    const logs: string[] = [];
    const other = client.duplicate();
    const lease = createLease({ redis: client, key: 'cas:lease', id: 'me', ttl: 300, tick: 50, log: (l) => logs.push(l) });
    const standby = createLease({ redis: other, key: 'cas:lease', id: 'other', ttl: 300, tick: 50, log: () => {} });
    try {
      lease.start();
      await until('the lease', () => lease.holding());
      standby.start();
      await sleep(200);
      assert.equal(standby.holding(), false);
      assert.equal(await client.get('cas:lease'), 'me');
      assert.ok(Number(await client.pttl('cas:lease')) > 200, 'renewed');
      // Someone else holds it now (as after a stall past the TTL): the old holder stands by.
      await client.set('cas:lease', 'intruder', 'PX', 60_000);
      await until('the lease to be lost', () => !lease.holding());
      await sleep(150);
      assert.equal(await client.get('cas:lease'), 'intruder');
      assert.ok(Number(await client.pttl('cas:lease')) > 50_000, 'not touched by the old holder');
      assert.deepEqual(lease.stats(), { holding: false, acquired: 1, lost: 1 });
      assert.ok(logs.includes('tpdne: publish lease lost (another generator holds it); standing by'));
      // Released by its holder: a standby takes it at its next tick.
      await client.del('cas:lease');
      await until('a new holder', () => lease.holding() || standby.holding());
    } finally {
      await lease.close();
      await standby.close();
      assert.equal(await client.get('cas:lease'), null, 'released on close');
      client.disconnect();
      other.disconnect();
    }
  });
});

describe('Redis frame bus: Redis restarts', { skip: skipUnlessProgram('redis-server', 'redis-server') }, () => {
  it('edges keep serving the last frame, report degraded, and lose at most the slots Redis was down', async () => {
    const redis = await startRedis();
    const bus = { redis: redis.url, interval: INTERVAL };
    const generator = await startTestServer({ role: 'generator', size: 64, ...bus });
    const edge = await startTestServer({ role: 'edge', ...bus });
    const viewer = await connectRawViewer(edge.url);
    try {
      const firstSlot = await viewer.untilSlot(slotAt(Date.now(), INTERVAL) + 4);
      const stopAt = Date.now();
      await redis.stop();
      const lastBefore = viewer.slots.at(-1)!;
      await until('the edge to notice', () => edge.health().status === 'degraded');
      await sleep(INTERVAL * 4);
      // The edge still serves its last frame; the generator keeps dreaming locally.
      const res = await fetch(`${edge.url}/image.webp`);
      assert.equal(res.status, 200);
      assert.equal(Number(res.headers.get('x-tpdne-slot')), lastBefore);
      await res.arrayBuffer();
      assert.match(String(edge.health().reason), /^redis unreachable: /);
      assert.equal(generator.health().status, 'degraded');
      assert.match(String(generator.health().reason), /^redis unreachable: /);
      assert.ok(generator.store.current()!.slot >= lastBefore + 4, 'the generator kept dreaming');

      await redis.start();
      const upAt = Date.now();
      const resumed = await viewer.untilSlot(slotAt(upAt, INTERVAL) + 1, 10_000);
      const lastSlot = await viewer.untilSlot(resumed + 6, 10_000);
      assert.equal(edge.health().status, 'ok');
      assert.equal(generator.health().status, 'ok');
      const got = new Set(viewer.slots);
      const missing: number[] = [];
      for (let s = firstSlot; s <= lastSlot; s++) if (!got.has(s)) missing.push(s);
      const downFrom = slotAt(stopAt, INTERVAL);
      // Down from the stop until Redis accepted connections again; one more slot for the reconnect backoff (capped at one interval).
      const downTo = slotAt(upAt, INTERVAL) + 1;
      for (const s of missing) assert.ok(s >= downFrom && s <= downTo, `slot ${s} lost outside the outage ${downFrom}..${downTo}`);
      assert.ok(missing.length > 0, 'the outage did cost slots');
      // Every slot after the outage arrives again.
      assert.deepEqual(
        viewer.slots.filter((s) => s > downTo && s <= lastSlot),
        Array.from({ length: lastSlot - downTo }, (_, i) => downTo + 1 + i),
      );
      process.stdout.write(`# redis down ${upAt - stopAt} ms (slots ${downFrom}..${slotAt(upAt, INTERVAL)}); lost ${missing.length} slots: ${missing.join(',')}\n`);
    } finally {
      await viewer.close();
      await Promise.allSettled([generator.close(), edge.close()]);
      await redis.close();
    }
  });
});
