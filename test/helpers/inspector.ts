import WebSocket from 'ws';

/**
 * `process.memoryUsage()` of the inspected process right after a full GC of every
 * isolate in it (the main thread and each worker thread): the process's RSS, and the
 * heap and the memory outside it (buffers) summed over the isolates.
 */
export interface MemoryAfterGc {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** How many isolates were collected and summed. */
  isolates: number;
}

export interface Inspector {
  memoryAfterGc(): Promise<MemoryAfterGc>;
  close(): void;
}

type Call = (method: string, params?: object) => Promise<unknown>;

const MEMORY = 'JSON.stringify(process.memoryUsage())';
const CALL_TIMEOUT_MS = 10_000;

/**
 * Attaches to a node process started with `--inspect=127.0.0.1:0`, found by the
 * "Debugger listening on ws://…" line of its stderr, over the DevTools protocol; its
 * worker threads are reached through the NodeWorker domain.
 */
export async function attachInspector(stderr: string): Promise<Inspector> {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
  if (!url) throw new Error(`no inspector URL in: ${stderr}`);
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));

  type Waiter = { resolve: (result: unknown) => void; reject: (err: Error) => void };
  type Reply = { id?: number; method?: string; params?: Record<string, unknown>; result?: unknown; error?: { message: string } };
  let nextId = 0;
  const pending = new Map<string, Waiter>(); // by `${sessionId}/${id}`, '' for the main thread
  const workers = new Set<string>();
  function settle(session: string, reply: Reply): void {
    const key = `${session}/${reply.id}`;
    const waiter = pending.get(key);
    if (!waiter) return;
    pending.delete(key);
    if (reply.error) waiter.reject(new Error(reply.error.message));
    else waiter.resolve(reply.result);
  }
  function failPending(prefix: string, why: string): void {
    for (const [key, waiter] of pending) {
      if (!key.startsWith(prefix)) continue;
      pending.delete(key);
      waiter.reject(new Error(`inspector: ${why}`));
    }
  }
  socket.on('close', () => failPending('', 'the connection closed'));
  socket.on('message', (data) => {
    const reply = JSON.parse(String(data)) as Reply;
    if (reply.method === 'NodeWorker.attachedToWorker') workers.add(reply.params!.sessionId as string);
    else if (reply.method === 'NodeWorker.detachedFromWorker') {
      const session = reply.params!.sessionId as string;
      workers.delete(session);
      failPending(`${session}/`, 'the worker went away');
    } else if (reply.method === 'NodeWorker.receivedMessageFromWorker') {
      settle(reply.params!.sessionId as string, JSON.parse(reply.params!.message as string) as Reply);
    } else if (reply.id !== undefined) settle('', reply);
  });
  // A reply that never comes (a worker stuck in a native call, or gone) fails the call
  // instead of hanging the test.
  function send(session: string, method: string, params: object): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = ++nextId;
      const key = `${session}/${id}`;
      const timer = setTimeout(() => {
        pending.delete(key);
        reject(new Error(`inspector: no reply to ${method}${session ? ' in a worker' : ''} within ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      pending.set(key, {
        resolve: (result) => (clearTimeout(timer), resolve(result)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      const message = JSON.stringify({ id, method, params });
      if (session === '') socket.send(message);
      else socket.send(JSON.stringify({ id: ++nextId, method: 'NodeWorker.sendMessageToWorker', params: { sessionId: session, message } }));
    });
  }
  const main: Call = (method, params = {}) => send('', method, params);
  await main('NodeWorker.enable', { waitForDebuggerOnStart: false });

  async function collect(call: Call): Promise<NodeJS.MemoryUsage> {
    await call('HeapProfiler.collectGarbage');
    const reply = (await call('Runtime.evaluate', { expression: MEMORY, returnByValue: true })) as { result: { value: string } };
    return JSON.parse(reply.result.value) as NodeJS.MemoryUsage;
  }
  return {
    async memoryAfterGc() {
      const isolates = [main, ...[...workers].map((session): Call => (method, params = {}) => send(session, method, params))];
      const usages: NodeJS.MemoryUsage[] = [];
      for (const call of isolates) usages.push(await collect(call));
      // RSS is the process's: read it once more, after the last collection.
      const { rss } = await collect(main);
      const sum = (key: 'heapUsed' | 'external' | 'arrayBuffers') => usages.reduce((total, usage) => total + usage[key], 0);
      return { rss, heapUsed: sum('heapUsed'), external: sum('external'), arrayBuffers: sum('arrayBuffers'), isolates: usages.length };
    },
    close: () => socket.close(),
  };
}
