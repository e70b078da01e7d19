import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { resolveServeOptions, type ResolvedServeOptions, type ServeOptions } from './options.js';
import { TpdneError, ErrorCodes } from './errors.js';
import { createOnnxGenerator } from './model/onnx-generator.js';
import type { Generator } from './model/generator.js';
import { createEncoder, chooseKernel } from './encode/encoder.js';
import { createFrameStore, type FrameStore } from './frames/store.js';
import { createDreamer, type Dreamer } from './clock/dreamer.js';
import { createHttpHandler, type HealthReport } from './http/handler.js';
import { loadStaticFiles } from './http/static.js';
import { createWsStream, type Stream } from './stream/ws-stream.js';
import { createFileSink, type FileSink } from './sinks/file-sink.js';
import { createFavicons } from './http/favicon.js';

/** Where the Vite build and the static assets live, relative to this compiled file. */
export const WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));
export const PUBLIC_ROOT = fileURLToPath(new URL('../../public/', import.meta.url));

export interface Tpdne {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  readonly options: ResolvedServeOptions;
  readonly store: FrameStore;
  readonly generator: Generator;
  readonly server: Server;
  health(): HealthReport;
  /** Stops accepting, closes viewers with 1001, finishes the frame in flight, releases the model. Idempotent. */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise(function bind(resolve, reject) {
    server.once('error', function onListenError(err: NodeJS.ErrnoException) {
      if (err.code === 'EADDRINUSE') reject(new TpdneError(ErrorCodes.PORT_IN_USE, `Port ${port} on ${host} is already in use (try --port)`));
      else if (err.code === 'EACCES') reject(new TpdneError(ErrorCodes.PORT_IN_USE, `No permission to listen on ${host}:${port}`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new TpdneError(ErrorCodes.INVALID_OPTION, `Expected a local address for --host but received '${host}'`));
      else reject(err);
    });
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * Starts the whole service: model worker, clock, encoder, frame store, HTTP, stream and
 * file sink. Rejects with a TpdneError (and leaves nothing running) when any part
 * cannot start.
 */
export async function startTpdne(input: ServeOptions = {}): Promise<Tpdne> {
  const options = resolveServeOptions(input);
  const generator = await createOnnxGenerator(options);
  const store = createFrameStore(options.framesKept);
  const encoder = createEncoder(options);
  const dreamer = createDreamer({ generator, encoder, store, interval: options.interval, log: options.log });
  const startedAt = Date.now();
  const pixelated = (): boolean => {
    const native = generator.nativeSize;
    return native !== null && chooseKernel(options.resize, Math.max(native.width, native.height), options.size) === 'nearest';
  };

  // Made lazily, once per frame, and shared by /favicon.png and the --out sink.
  const favicons = createFavicons({ pixelated });
  let stream: Stream | null = null;
  function health(): HealthReport {
    const d = dreamer.stats();
    const current = store.current();
    const viewers = stream?.stats();
    return {
      status: d.status,
      reason: d.reason,
      slot: current?.slot ?? null,
      fps: d.fps,
      targetFps: Math.round((1000 / options.interval) * 100) / 100,
      viewers: viewers?.viewers ?? 0,
      model: generator.name,
      device: generator.device,
      interval: options.interval,
      size: current ? { width: current.width, height: current.height } : null,
      format: options.format,
      frames: { published: d.published, late: d.late, missed: d.missed, dropped: d.dropped, nonFinite: d.nonFinite, encodeErrors: d.encodeErrors },
      stream: { skipped: viewers?.skipped ?? 0, refused: viewers?.refused ?? 0 },
      out: sink ? sink.stats() : null,
      timings: d.timings,
      uptime: Math.round((Date.now() - startedAt) / 1000),
    };
  }

  const handler = createHttpHandler({
    store,
    interval: options.interval,
    format: options.format,
    modelName: generator.name,
    pixelated,
    health,
    files: loadStaticFiles([PUBLIC_ROOT, WEB_ROOT]),
    favicon: favicons,
  });
  const server = createServer(
    { headersTimeout: 10_000, requestTimeout: 15_000, maxHeaderSize: 16 * 1024, keepAliveTimeout: 5_000 },
    handler,
  );
  let port: number;
  try {
    port = await listen(server, options.port, options.host);
  } catch (err) {
    await generator.close();
    throw err;
  }
  stream = createWsStream({
    server,
    store,
    interval: options.interval,
    maxViewers: options.maxViewers,
    maxBufferedBytes: options.maxBufferedBytes,
    heartbeat: options.heartbeat,
  });
  const sink: FileSink | null = options.out ? createFileSink({ path: options.out, store, log: options.log, favicon: favicons.png }) : null;
  dreamer.start();

  let closing: Promise<void> | null = null;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const tpdne: Tpdne = {
    url: `http://${host}:${port}`,
    port,
    options,
    store,
    generator,
    server,
    health,
    close() {
      closing ??= (async function shutDown() {
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.allSettled([stream!.close(), dreamer.close()]);
        await Promise.allSettled([sink?.close(), generator.close()]);
        server.closeAllConnections();
        await httpClosed;
      })();
      return closing;
    },
  };
  return tpdne;
}
