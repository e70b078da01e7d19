import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createFrameStore } from '../../server/frames/store.js';
import { createFrame } from '../../server/frames/frame.js';
import { createWsStream } from '../../server/stream/ws-stream.js';
import { decodeFrameMessage } from '../../client/shared/protocol.js';

describe('stream: prebuilt frames beside ws pings', () => {
  it('delivers every frame intact while the heartbeat pings interleave', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const store = createFrameStore(8);
    const stream = createWsStream({ server, store, interval: 250, maxViewers: 10, maxViewersPerIp: 10, maxBufferedBytes: 64 << 20, heartbeat: 100 });
    const socket = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/stream`);
    try {
      await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
      const got: { slot: number; length: number; first: number; last: number }[] = [];
      let pings = 0;
      socket.on('ping', () => pings++);
      socket.on('message', (data: Buffer) => {
        const m = decodeFrameMessage(new Uint8Array(data));
        got.push({ slot: m.slot, length: m.image.length, first: m.image[0]!, last: m.image.at(-1)! });
      });
      const sizes = [10, 125, 70_000, 300_000];
      for (let i = 0; i < 24; i++) {
        const bytes = Buffer.alloc(sizes[i % sizes.length]!, i);
        store.publish(createFrame({ slot: 100 + i, createdAt: Date.now(), width: 8, height: 8, format: 'webp', bytes }));
        await new Promise((r) => setTimeout(r, 20));
      }
      const deadline = Date.now() + 5000;
      while (got.length < 24 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        got,
        Array.from({ length: 24 }, (_, i) => ({ slot: 100 + i, length: sizes[i % sizes.length]!, first: i, last: i })),
      );
      assert.ok(pings >= 2, `expected pings between the frames, got ${pings}`);
    } finally {
      socket.terminate();
      await stream.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
