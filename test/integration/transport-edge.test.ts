import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { connectRawViewer, type RawViewer } from '../helpers/bus.js';
import { skipUnlessProgram } from '../helpers/system.js';
import { slotAt } from '../../server/clock/slot.js';
import { decodeFrameMessage } from '../../client/shared/protocol.js';

const INTERVAL = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('an edge on the uws transport', { skip: skipUnlessProgram('redis-server', 'redis-server') }, () => {
  let redis: TestRedis;
  let generator: TestServer;
  let edge: TestServer;
  const viewers: RawViewer[] = [];

  before(async () => {
    redis = await startRedis();
    const bus = { redis: redis.url, redisPrefix: 'uws', interval: INTERVAL };
    generator = await startTestServer({ role: 'generator', size: 64, transport: 'ws', ...bus });
    edge = await startTestServer({ role: 'edge', transport: 'uws', ...bus });
  });

  after(async () => {
    await Promise.allSettled(viewers.map((v) => v.close()));
    await Promise.allSettled([generator?.close(), edge?.close()]);
    await redis?.close();
  });

  it("relays the generator's messages byte for byte, and serves the same image over HTTP", async () => {
    for (let i = 0; i < 200 && !(generator.health().bus as { leader: boolean }).leader; i++) await sleep(20);
    viewers.push(await connectRawViewer(edge.url), await connectRawViewer(generator.url));
    const [fromEdge, fromGenerator] = viewers as [RawViewer, RawViewer];
    const first = slotAt(Date.now(), INTERVAL) + 2;
    const last = first + 7;
    await Promise.all([fromEdge.untilSlot(last), fromGenerator.untilSlot(last)]);
    for (let slot = first; slot <= last; slot++) {
      const a = fromEdge.messages.get(slot);
      const b = fromGenerator.messages.get(slot);
      assert.ok(a && b, `slot ${slot} on both`);
      assert.ok(a.equals(b), `slot ${slot}: the edge (uws) sends the generator's (ws) bytes`);
    }
    const res = await fetch(`${edge.url}/image.webp`);
    const slot = Number(res.headers.get('x-tpdne-slot'));
    const body = Buffer.from(await res.arrayBuffer());
    await fromEdge.untilSlot(slot);
    assert.ok(body.equals(Buffer.from(decodeFrameMessage(new Uint8Array(fromEdge.messages.get(slot)!)).image)));
    const health = edge.health() as Record<string, unknown>;
    assert.deepEqual([health.role, health.transport, health.viewers], ['edge', 'uws', 1]);
  });
});
