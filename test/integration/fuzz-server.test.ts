import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestServer, waitForFrame } from '../helpers/server.js';
import { rawRequest, rawWebSocket, clientFrame } from '../helpers/raw.js';

describe('request fuzzer against a running server', () => {
  it('survives thousands of random requests and WebSocket frames: no crash, no 5xx, no unhandled rejection', async () => {
    const problems: string[] = [];
    const onRejection = (reason: unknown) => problems.push(`unhandledRejection: ${String(reason)}`);
    const onException = (err: Error) => problems.push(`uncaughtException: ${err.message}`);
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    const server = await startTestServer({ size: 32, interval: 100, maxViewersPerIp: 1000 });
    try {
      await waitForFrame(server);
      const current = server.store.current()!.slot;
      const pathChar = fc.constantFrom(...'abcXYZ019./-_~%?#&=;:@!$\'()*+,[]{}|\\^` \u00e9'.split(''));
      const path = fc.oneof(
        fc.constantFrom('/', '/image.webp', '/image', '/healthz', '/live', '/frames/', `/frames/${current}.webp`, '/stream', '/assets/', '/favicon.ico'),
        fc.string({ unit: pathChar, maxLength: 40 }).map((s) => '/' + s),
        fc.tuple(fc.constantFrom('/frames/', '/assets/', '/'), fc.string({ unit: pathChar, maxLength: 20 })).map(([a, b]) => a + b),
        fc.integer().map((n) => `/frames/${n}.webp`),
      );
      const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'BREW', 'get');
      const header = fc.tuple(
        fc.constantFrom('If-None-Match', 'Range', 'Accept', 'Origin', 'Cookie', 'X-Forwarded-For', 'Content-Length', 'Transfer-Encoding', 'Expect', 'Upgrade', 'X-' + 'a'.repeat(30)),
        fc.string({ maxLength: 60 }),
      );
      const request = fc.record({ method, path, headers: fc.array(header, { maxLength: 5 }), body: fc.string({ maxLength: 30 }) });
      const samples = fc.sample(request, { numRuns: 2000, seed: 42 });
      let fiveHundreds = 0;
      let answered = 0;
      // 8 at a time keeps it quick without tripping the per-address cap.
      for (let i = 0; i < samples.length; i += 8) {
        await Promise.all(
          samples.slice(i, i + 8).map(async ({ method: m, path: p, headers, body }) => {
            const lines = [`${m} ${p} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers.map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, '')}`)];
            const response = await rawRequest(server.port, lines.join('\r\n') + '\r\n\r\n' + body, 3000);
            const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
            if (status) answered++;
            else if (process.env.FUZZ_DEBUG) console.log('NO STATUS', JSON.stringify(lines), JSON.stringify(response.slice(0, 80)));
            if (status >= 500 && !(status === 503 && p.startsWith('/stream'))) {
              fiveHundreds++;
              problems.push(`${status} for ${m} ${JSON.stringify(p)}: ${response.slice(0, 120)}`);
            }
          }),
        );
      }
      // Random WebSocket frames from viewers that should not send anything.
      const frames = fc.sample(
        fc.record({ opcode: fc.constantFrom(0, 1, 2, 3, 8, 9, 10, 15), payload: fc.uint8Array({ maxLength: 300 }), fin: fc.boolean() }),
        { numRuns: 300, seed: 7 },
      );
      for (let i = 0; i < frames.length; i += 10) {
        await Promise.all(
          frames.slice(i, i + 10).map(async ({ opcode, payload, fin }) => {
            const { socket } = await rawWebSocket(server.port);
            socket.on('data', () => {});
            const closed = new Promise<void>((r) => socket.once('close', () => r()));
            socket.write(clientFrame(opcode, Buffer.from(payload), fin));
            // Unmasked garbage too.
            socket.write(Buffer.from(payload));
            setTimeout(() => socket.destroy(), 300);
            await closed;
          }),
        );
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(fiveHundreds, 0, problems.join('\n'));
      assert.deepEqual(problems, []);
      assert.equal(answered, samples.length, 'every request got a status line');
      const h = server.health();
      assert.equal(h.status, 'ok');
      assert.equal(h.viewers, 0);
      const fresh = await waitForFrame(server, server.store.current()!.slot + 1);
      assert.ok(fresh);
    } finally {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
      await server.close();
    }
  });
});
