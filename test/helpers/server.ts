import WebSocket from 'ws';
import { startTpdne, type Tpdne } from '../../server/service.js';
import type { ServeOptions } from '../../server/options.js';
import { decodeFrameMessage, type DecodedFrame } from '../../client/shared/protocol.js';

export interface TestServer extends Tpdne {
  /** Every line the server logged. */
  logs: string[];
}

/** A real server on a free port, with the log captured instead of printed. */
export async function startTestServer(options: ServeOptions = {}): Promise<TestServer> {
  const logs: string[] = [];
  // An edge makes no frames, and refuses --size.
  const size = options.role === 'edge' ? {} : { size: 128 };
  const tpdne = await startTpdne({ port: 0, ...size, ...options, log: (line) => logs.push(line) });
  return Object.assign(tpdne, { logs });
}

/**
 * Two servers started side by side. When one fails to start, those that did are
 * closed before the error is thrown: a server left running would keep the test file's
 * process alive, and a failed check would hang the suite instead of failing it.
 */
export async function startTestServers(a: ServeOptions, b: ServeOptions): Promise<[TestServer, TestServer]> {
  const started = await Promise.allSettled([startTestServer(a), startTestServer(b)]);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return [(started[0] as PromiseFulfilledResult<TestServer>).value, (started[1] as PromiseFulfilledResult<TestServer>).value];
  await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
  throw failed.reason;
}

/** Resolves with the first frame published at or after `minSlot` (or any, if omitted). */
export function waitForFrame(server: Tpdne, minSlot = 0, timeoutMs = 10_000): Promise<NonNullable<ReturnType<Tpdne['store']['current']>>> {
  const current = server.store.current();
  if (current && current.slot >= minSlot) return Promise.resolve(current);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`No frame at or after slot ${minSlot} within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = server.store.subscribe((frame) => {
      if (frame.slot < minSlot) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(frame);
    });
  });
}

export interface Viewer {
  frames: DecodedFrame[];
  socket: WebSocket;
  /** Resolves once `count` frames have arrived. */
  until(count: number, timeoutMs?: number): Promise<DecodedFrame[]>;
  close(): Promise<void>;
}

/** A real WebSocket viewer of `/stream` that decodes and keeps every frame. */
export function connectViewer(baseUrl: string, headers: Record<string, string> = {}): Promise<Viewer> {
  const socket = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/stream', { headers, perMessageDeflate: false });
  const frames: DecodedFrame[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  socket.on('message', (data: Buffer) => {
    frames.push(decodeFrameMessage(new Uint8Array(data)));
    for (const w of [...waiters]) {
      if (frames.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const viewer: Viewer = {
    frames,
    socket,
    until(count, timeoutMs = 15_000) {
      if (frames.length >= count) return Promise.resolve(frames);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`Viewer got ${frames.length} of ${count} frames in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve(frames)) });
      });
    },
    close() {
      if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
      return new Promise((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
      });
    },
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(viewer));
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`Upgrade refused with ${res.statusCode}`)));
  });
}
