import type { HttpResponse as UwsResponse, TemplatedApp, WebSocket as UwsSocket, us_listen_socket } from 'uWebSockets.js';
import type { ResolvedServeOptions } from '../options.js';
import type { FrameStore } from '../frames/store.js';
import { TpdneError, ErrorCodes, describeError } from '../errors.js';
import type { HttpHandler } from '../http/exchange.js';
import { fromUwsRequest, toUwsResponse, statusLine, uwsRemoteAddress } from '../http/uws-exchange.js';
import { frameMessage } from './message.js';
import { createViewerGate } from './viewer-gate.js';
import { viewerAddress } from './viewer-address.js';
import { MAX_INCOMING } from './ws-stream.js';
import { MAX_HEADER_BYTES } from './ws-transport.js';
import { startingResponse, type Transport } from './transport.js';
import type { UwsModule } from './uws-loader.js';

/** The one pub/sub topic: every viewer gets every frame. */
const TOPIC = 'frames';

interface Viewer {
  /** Gives the viewer's place back to the gate; called once, on close. */
  release: () => void;
}

/** Answers on a response no route will see: refused upgrades, oversized headers, 503 starting. */
function answer(res: UwsResponse, status: number, headers: Record<string, string>, body: string, close: boolean): void {
  res.cork(function writeRefusal() {
    res.writeStatus(statusLine(status));
    for (const name of Object.keys(headers)) res.writeHeader(name, headers[name]!);
    res.end(body, close);
  });
}

/**
 * LIBUS_LISTEN_EXCLUSIVE_PORT: without it uWS binds with SO_REUSEPORT, so a second server
 * on a port in use would start too and the kernel would split the traffic between them.
 */
const EXCLUSIVE_PORT = 1;
/** `listen(host, port, options, cb)`: in the library since v20, missing from v20.30's typings. */
type ListenWithOptions = (host: string, port: number, options: number, cb: (socket: us_listen_socket | false) => void) => TemplatedApp;

function bind(app: TemplatedApp, host: string, port: number): Promise<us_listen_socket> {
  return new Promise(function listenUws(resolve, reject) {
    (app.listen as unknown as ListenWithOptions).call(app, host, port, EXCLUSIVE_PORT, function onListen(socket) {
      // uWS says only "no": the port is taken, or the address is not this machine's.
      if (socket) resolve(socket);
      else reject(new TpdneError(ErrorCodes.PORT_IN_USE, `Cannot listen on ${host}:${port} with uWebSockets.js: in use or not a local address (try --port or --host)`));
    });
  });
}

/**
 * HTTP and the stream on one uWebSockets.js App. The routes are the shared handler;
 * each frame's stream message (built once, by message.ts) is published once to one
 * topic, and uWS writes it to every viewer whose unsent bytes are within
 * `maxBufferedBytes` (`maxBackpressure`), skipping the others: nothing queues without
 * bound. Pings, viewer caps and the origin check work as on the ws transport.
 */
export async function startUwsTransport(uws: UwsModule, options: ResolvedServeOptions): Promise<Transport> {
  const { interval, maxBufferedBytes } = options;
  const app = uws.App();
  const gate = createViewerGate({ path: '/stream', maxViewers: options.maxViewers, maxViewersPerIp: options.maxViewersPerIp, allowOrigin: options.allowOrigin });
  const viewers = new Set<UwsSocket<Viewer>>();
  const alive = new WeakSet<UwsSocket<Viewer>>();
  let handler: HttpHandler | null = null;
  let store: FrameStore | null = null;
  let skipped = 0;
  let closing: Promise<void> | null = null;
  const isClosing = () => closing !== null;

  app.any('/*', function route(res, req) {
    const { request, headerBytes } = fromUwsRequest(res, req);
    // uWS has no header cap of its own worth the name; keep the ws transport's.
    if (headerBytes > MAX_HEADER_BYTES) {
      return answer(res, 431, { 'X-Content-Type-Options': 'nosniff' }, '', true);
    }
    // An upgrade to another path: refused as ws-stream refuses it (before serve(), 503 below).
    if (request.headers.upgrade !== undefined && handler) {
      return answer(res, 404, { 'Content-Type': 'text/plain' }, 'Not Found\n', true);
    }
    const response = toUwsResponse(res, isClosing);
    if (!handler) {
      const starting = startingResponse(request.url);
      return response.send(starting.status, starting.headers, starting.body);
    }
    try {
      handler(request, response);
    } catch (err) {
      // The handler answers its own errors; this is the last line, never a crash of the loop.
      options.log(`tpdne: ${request.method} ${request.url}: ${describeError(err)}`);
      if (!response.done) response.send(500, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }, 'Internal error\n');
    }
  });

  app.ws<Viewer>('/stream', {
    compression: uws.DISABLED,
    maxPayloadLength: MAX_INCOMING,
    // Frames are images of hundreds of KB: uWS's 64 KB default would skip nearly all.
    maxBackpressure: maxBufferedBytes,
    // The heartbeat below pings and cuts, as on ws; uWS's own idle timer counts seconds.
    idleTimeout: 0,
    sendPingsAutomatically: false,

    upgrade: function onUpgrade(res, req, context) {
      const query = req.getQuery();
      const forwarded = req.getHeader('x-forwarded-for');
      const admission = store
        ? gate.admit({
            url: req.getUrl() + (query ? `?${query}` : ''),
            origin: req.getHeader('origin') || undefined,
            host: req.getHeader('host') || undefined,
            address: viewerAddress(uwsRemoteAddress(res), forwarded || undefined),
          })
        : ({ status: 503, reason: 'Service Unavailable' } as const);
      if (admission.status !== 101) {
        return answer(res, admission.status, { 'Content-Type': 'text/plain' }, `${admission.reason}\n`, true);
      }
      // Synchronous: the request is read and the upgrade made before returning, so no
      // abort handler is needed (uWS demands one only across async work).
      res.upgrade<Viewer>(
        { release: admission.release },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: function onViewer(ws) {
      viewers.add(ws);
      alive.add(ws);
      ws.subscribe(TOPIC);
      // The current frame at once; later ones come through the topic.
      const current = store?.current();
      if (current) ws.send(frameMessage(current, interval), true);
    },
    message: function onViewerMessage(ws) {
      ws.end(1008, 'viewers do not send');
    },
    pong: function onPong(ws) {
      alive.add(ws);
    },
    close: function onViewerGone(ws) {
      // The socket is gone once this returns: nothing may touch it later.
      viewers.delete(ws);
      ws.getUserData().release();
    },
  });

  let unsubscribe: () => void = () => {};
  const heartbeat = setInterval(function ping() {
    for (const ws of [...viewers]) {
      // close() runs the close handler at once, which takes the socket out of `viewers`.
      if (!alive.has(ws)) ws.close();
      else {
        alive.delete(ws);
        ws.ping();
      }
    }
  }, options.heartbeat);
  heartbeat.unref();

  let listenSocket: us_listen_socket | null;
  try {
    listenSocket = await bind(app, options.host, options.port);
  } catch (err) {
    clearInterval(heartbeat);
    throw err;
  }
  const port = uws.us_socket_local_port(listenSocket);

  return {
    name: 'uws',
    port,
    server: null,
    serve(routes, frames) {
      handler = routes;
      store = frames;
      unsubscribe = frames.subscribe(function broadcast(frame) {
        // uWS skips a viewer whose unsent bytes exceed maxBackpressure; count those here,
        // as the ws transport does. Messages of 16 KB and more are written inside publish,
        // smaller ones at the end of this loop turn: no socket's backlog changes between.
        for (const ws of viewers) if (ws.getBufferedAmount() > maxBufferedBytes) skipped++;
        app.publish(TOPIC, frameMessage(frame, interval), true);
      });
    },
    stats() {
      let bufferedBytes = 0;
      for (const ws of viewers) bufferedBytes += ws.getBufferedAmount();
      return { viewers: viewers.size, skipped, ...gate.stats(), bufferedBytes };
    },
    close() {
      closing ??= (async function closeUwsTransport() {
        gate.close();
        unsubscribe();
        clearInterval(heartbeat);
        if (listenSocket) uws.us_listen_socket_close(listenSocket);
        listenSocket = null;
        // end() sends the close frame and runs the close handler at once.
        for (const ws of [...viewers]) ws.end(1001, 'server shutting down');
        // Newer official builds can close idle keep-alive connections too; v20.30 cannot,
        // and leaves them to uWS's 10 s idle timeout (each answer from now on closes its
        // connection).
        (app as TemplatedApp & { close?: () => void }).close?.();
      })();
      return closing;
    },
  };
}
