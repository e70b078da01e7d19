import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { connectRawViewer, loadsOnnxruntime, startCliServer, type CliServer, type RawViewer } from '../helpers/bus.js';
import { skipUnlessProgram } from '../helpers/system.js';
import { slotAt } from '../../server/clock/slot.js';
import { decodeFrameMessage } from '../../client/shared/protocol.js';

const INTERVAL = 250;

interface GeneratorHealth {
  status: string;
  bus: { leader: boolean; acquired: number; published: number };
}

async function health(server: CliServer): Promise<GeneratorHealth> {
  const res = await fetch(`${server.url}/healthz`);
  return (await res.json()) as GeneratorHealth;
}

describe('Redis frame bus: generator failover (tpdne serve processes)', { skip: skipUnlessProgram('redis-server', 'redis-server') }, () => {
  let redis: TestRedis | undefined;
  const servers: CliServer[] = [];
  let viewer: RawViewer | undefined;

  after(async () => {
    await viewer?.close();
    await Promise.allSettled(servers.map((s) => s.kill('SIGKILL')));
    await redis?.close();
  });

  it('a standby takes over within two intervals of SIGKILL, with the same frames; an edge never loads onnxruntime', async () => {
    redis = await startRedis();
    const common = ['--redis', redis.url, '--interval', String(INTERVAL)];
    const leader = await startCliServer(['--role', 'generator', '--size', '64', ...common]);
    servers.push(leader);
    await leader.waitForLog(/publish lease acquired/);
    const standby = await startCliServer(['--role', 'generator', '--size', '64', ...common]);
    servers.push(standby);
    const edge = await startCliServer(['--role', 'edge', ...common]);
    servers.push(edge);
    assert.match(edge.stderr(), new RegExp(`tpdne: edge serving the frames of redis://127\\.0\\.0\\.1:${redis.port} at http://127\\.0\\.0\\.1:\\d+\\n`));

    // Generators run the model (onnxruntime in their worker thread); the edge has no model at all.
    assert.equal(loadsOnnxruntime(leader.pid), true);
    assert.equal(loadsOnnxruntime(standby.pid), true);
    assert.equal(loadsOnnxruntime(edge.pid), false);

    viewer = await connectRawViewer(edge.url);
    await viewer.untilSlot(slotAt(Date.now(), INTERVAL) + 4);
    assert.equal((await health(leader)).bus.leader, true);
    const standing = await health(standby);
    assert.equal(standing.status, 'ok');
    assert.equal(standing.bus.leader, false);
    assert.equal(standing.bus.published, 0);

    // Same model, same seed: the standby dreamed the very frames the leader published.
    const shared = viewer.slots.at(-1)!;
    const fromLeader = decodeFrameMessage(viewer.messages.get(shared)!).image;
    const res = await fetch(`${standby.url}/frames/${shared}.webp`);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(fromLeader)), `slot ${shared} is the same on both generators`);

    const killedAt = Date.now();
    await leader.kill('SIGKILL');
    const killedSlot = slotAt(killedAt, INTERVAL);
    const lastFromLeader = viewer.slots.filter((s) => s <= killedSlot).at(-1)!;
    const firstFromStandby = await viewer.untilSlot(killedSlot + 1, 5000);
    process.stdout.write(
      `# killed in slot ${killedSlot}; last leader slot ${lastFromLeader}, first standby slot ${firstFromStandby} ` +
        `(${viewer.slots.length} frames)\n`,
    );
    // Within two intervals of the kill: the standby's first frame is of the slot two after the kill at the latest.
    assert.ok(firstFromStandby <= killedSlot + 2, `standby published slot ${firstFromStandby}, kill was in ${killedSlot}`);
    const took = await health(standby);
    assert.equal(took.bus.leader, true);
    assert.equal(took.bus.acquired, 1);
    await viewer.untilSlot(firstFromStandby + 4);
    // From the takeover on, every slot arrives.
    const after = viewer.slots.filter((s) => s >= firstFromStandby);
    assert.deepEqual(after.slice(0, 5), [0, 1, 2, 3, 4].map((i) => firstFromStandby + i));
    const edgeHealth = (await (await fetch(`${edge.url}/healthz`)).json()) as { status: string; model: string };
    assert.equal(edgeHealth.status, 'ok');
    assert.equal(edgeHealth.model, 'builtin-cppn');
  });
});
