import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { decodeFrameMessage } from '../../client/shared/protocol.js';
import { ROOT } from './paths.js';

/** A viewer of `/stream` that keeps every message as received, by slot. */
export interface RawViewer {
  /** The whole message (header + image) of each slot received. */
  readonly messages: Map<number, Buffer>;
  /** Slots in arrival order. */
  readonly slots: number[];
  /** Resolves with the first slot at or after `minSlot` (already received or arriving). */
  untilSlot(minSlot: number, timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export function connectRawViewer(baseUrl: string): Promise<RawViewer> {
  const socket = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/stream', { perMessageDeflate: false });
  const messages = new Map<number, Buffer>();
  const slots: number[] = [];
  const waiters = new Set<{ minSlot: number; resolve: (slot: number) => void }>();
  socket.on('message', (data: Buffer) => {
    const { slot } = decodeFrameMessage(new Uint8Array(data));
    messages.set(slot, Buffer.from(data));
    slots.push(slot);
    for (const w of waiters) {
      if (slot >= w.minSlot) {
        waiters.delete(w);
        w.resolve(slot);
      }
    }
  });
  const viewer: RawViewer = {
    messages,
    slots,
    untilSlot(minSlot, timeoutMs = 15_000) {
      const have = slots.find((s) => s >= minSlot);
      if (have !== undefined) return Promise.resolve(have);
      return new Promise((resolve, reject) => {
        const waiter = {
          minSlot,
          resolve: (slot: number) => {
            clearTimeout(timer);
            resolve(slot);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`No slot >= ${minSlot} within ${timeoutMs} ms (last ${slots.at(-1)})`));
        }, timeoutMs);
        waiters.add(waiter);
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
  });
}

/** `tpdne serve` in its own process, as an operator runs it. */
export interface CliServer {
  readonly child: ChildProcess;
  readonly url: string;
  readonly pid: number;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves once a line matching `pattern` has been logged. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startCliServer(args: string[], timeoutMs = 20_000): Promise<CliServer> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tpdne.js'), 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MALLOC_ARENA_MAX: '2' },
  });
  let err = '';
  const logWaiters = new Set<() => void>();
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    for (const check of logWaiters) check();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  function waitForLog(pattern: RegExp, ms = timeoutMs): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pattern.test(err)) return;
        logWaiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        logWaiters.delete(check);
        reject(new Error(`tpdne ${args.join(' ')} did not log ${pattern} within ${ms} ms:\n${err}`));
      }, ms);
      logWaiters.add(check);
      check();
    });
  }
  return waitForLog(/ at (http:\/\/\S+)\n/).then(
    () => ({
      child,
      url: / at (http:\/\/\S+)\n/.exec(err)![1]!,
      pid: child.pid!,
      stderr: () => err,
      waitForLog,
      async kill(signal: NodeJS.Signals = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    }),
    (error: Error) => {
      child.kill('SIGKILL');
      throw error;
    },
  );
}

/** True when a native onnxruntime library is mapped into process `pid` (Linux). */
export function loadsOnnxruntime(pid: number): boolean {
  return readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .some((line) => /onnxruntime/i.test(line));
}
