import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { resolveServeOptions, type ResolvedServeOptions, type ServeOptions } from './options.js';
import type { Generator } from './model/generator.js';
import { createFunctionGenerator } from './model/function-generator.js';
import { createEncoder, chooseKernel } from './encode/encoder.js';
import { createFrameStore, type FrameStore } from './frames/store.js';
import { createDreamer, FPS_WINDOW_MS, type Dreamer } from './clock/dreamer.js';
import { createHttpHandler, type HealthReport } from './http/handler.js';
import { loadStaticFiles } from './http/static.js';
import { startTransport, type Transport, type TransportName } from './stream/transport.js';
import { createFileSink, type FileSink } from './sinks/file-sink.js';
import { startBusEdge, type BusEdge } from './bus/edge.js';
import { createBusPublisher, type BusPublisher } from './bus/publisher.js';
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
  /** What serves HTTP and the stream (`--transport auto` resolved). */
  readonly transport: TransportName;
  /** Node's HTTP server; null on the uws transport. */
  readonly server: Server | null;
  health(): HealthReport;
  /** Stops accepting, closes viewers with 1001, finishes the frame in flight, releases the model. Idempotent. */
  close(): Promise<void>;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * Starts the whole service: model worker, clock, encoder, frame store, HTTP, stream and
 * file sink. Rejects with a TpdneError (and leaves nothing running) when any part
 * cannot start.
 */
export async function startTpdne(input: ServeOptions = {}): Promise<Tpdne> {
  const options = resolveServeOptions(input);
  // Bind first: a port in use (or a transport that cannot load) is the cheapest failure
  // to find, before any model loads.
  const transport: Transport = await startTransport(options);
  const port = transport.port;

  const store = createFrameStore(options.framesKept);
  let edge: BusEdge | null = null;
  let generator: Generator;
  try {
    // An edge serves what Redis carries: it reads the latest frame before it answers
    // anything, and never loads the model path (nor onnxruntime, which that path imports).
    edge =
      options.role === 'edge'
        ? await startBusEdge({ url: options.redis!, prefix: options.redisPrefix, store, interval: options.interval, format: options.format, log: options.log })
        : null;
    generator = edge
      ? edge.generator
      : options.generate
        ? createFunctionGenerator(options.generate, { range: options.range, timeout: options.modelTimeout })
        : await (await import('./model/onnx-generator.js')).createOnnxGenerator(options);
  } catch (err) {
    await edge?.close();
    await transport.close();
    throw err;
  }
  const encoder = createEncoder(options);
  const dreamer: Dreamer = edge ?? createDreamer({ generator, encoder, store, interval: options.interval, log: options.log });
  const startedAt = Date.now();
  const pixelated = (): boolean => {
    if (edge) return edge.meta()?.pixelated ?? false;
    const native = generator.nativeSize;
    return native !== null && chooseKernel(options.resize, Math.max(native.width, native.height), options.size) === 'nearest';
  };

  // Made lazily, once per frame, and shared by /favicon.png and the --out sink.
  const favicons = createFavicons({ pixelated });
  let sink: FileSink | null = null;
  let publisher: BusPublisher | null = null;
  function health(): HealthReport {
    const d = dreamer.stats();
    const current = store.current();
    const viewers = transport.stats();
    const bus = edge?.busStats() ?? publisher?.stats() ?? null;
    // A generator that cannot reach Redis keeps dreaming, but its frames reach no edge.
    const busDown = bus !== null && bus.status === 'degraded' && d.status === 'ok';
    const targetFps = 1000 / options.interval;
    // Slower than asked for a whole measuring window: still serving, but a probe should
    // know that the model (or the encoder) cannot keep up with --interval.
    const behind = d.status === 'ok' && !busDown && Date.now() - startedAt > FPS_WINDOW_MS + options.interval && d.fps < 0.8 * targetFps;
    return {
      status: busDown || behind ? 'degraded' : d.status,
      reason: busDown ? bus.reason : behind ? `making ${d.fps} fps of the ${round2(targetFps)} --interval ${options.interval} asks for: a frame takes longer than a slot (see timings)` : d.reason,
      role: options.role,
      transport: transport.name,
      slot: current?.slot ?? null,
      fps: d.fps,
      targetFps: round2(targetFps),
      viewers: viewers.viewers,
      model: generator.name,
      device: generator.device,
      // Slots made per model run (--batch); an edge makes none.
      batch: options.role === 'edge' ? null : (generator.batch ?? 1),
      interval: options.interval,
      size: current ? { width: current.width, height: current.height } : null,
      format: options.format,
      frames: { published: d.published, late: d.late, missed: d.missed, dropped: d.dropped, nonFinite: d.nonFinite, encodeErrors: d.encodeErrors },
      stream: {
        skipped: viewers.skipped,
        refused: viewers.refused,
        forbidden: viewers.forbidden,
        bufferedBytes: viewers.bufferedBytes,
      },
      out: sink ? sink.stats() : null,
      timings: d.timings,
      uptime: Math.round((Date.now() - startedAt) / 1000),
      bus,
    };
  }

  const handler = createHttpHandler({
    store,
    interval: options.interval,
    format: options.format,
    // Read per request: an edge learns the model's name from the first frames it receives.
    get modelName() {
      return generator.name;
    },
    pixelated,
    health,
    files: loadStaticFiles([PUBLIC_ROOT, WEB_ROOT]),
    log: options.log,
    allowOrigin: options.allowOrigin,
    frameAncestors: options.frameAncestors,
    favicon: favicons,
  });
  transport.serve(handler, store);
  sink = options.out ? createFileSink({ path: options.out, store, log: options.log, favicon: favicons.png }) : null;
  if (options.role === 'generator') {
    publisher = createBusPublisher({
      url: options.redis!,
      prefix: options.redisPrefix,
      store,
      interval: options.interval,
      meta: () => ({ model: generator.name, device: generator.device, pixelated: pixelated() }),
      log: options.log,
    });
    publisher.start();
  }
  dreamer.start();

  let closing: Promise<void> | null = null;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const tpdne: Tpdne = {
    url: `http://${host}:${port}`,
    port,
    options,
    store,
    generator,
    transport: transport.name,
    server: transport.server,
    health,
    close() {
      closing ??= (async function shutDown() {
        // The frame in flight gets up to a second to finish; then the model is released,
        // which ends a run that is stuck.
        const dreamerDone = dreamer.close();
        let grace: NodeJS.Timeout | undefined;
        await Promise.allSettled([
          transport.close(),
          publisher?.close(),
          Promise.race([dreamerDone, new Promise((r) => (grace = setTimeout(r, 1000)))]),
        ]);
        clearTimeout(grace);
        await Promise.allSettled([generator.close(), dreamerDone]);
        await sink?.close();
      })();
      return closing;
    },
  };
  return tpdne;
}
