import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FrameStore } from '../frames/store.js';
import type { Frame } from '../frames/frame.js';
import { wireFrame } from './wire.js';
import { createViewerGate } from './viewer-gate.js';
import { viewerAddress } from './viewer-address.js';

export interface StreamOptions {
  server: HttpServer;
  store: FrameStore;
  interval: number;
  maxViewers: number;
  maxViewersPerIp: number;
  maxBufferedBytes: number;
  heartbeat: number;
  /** The URL path of the stream. Default `/stream`. */
  path?: string;
  /** Origins whose pages may connect (`['*']`: any); others get 403 before the upgrade. Default `['*']`. */
  allowOrigin?: readonly string[];
}

export interface StreamStats {
  viewers: number;
  /** Frames not sent to a viewer because it still had too much unsent. */
  skipped: number;
  /** Upgrades refused because a viewer limit (global or per address) was reached. */
  refused: number;
  /** Bytes accepted for sending but not yet written, over all viewers. */
  bufferedBytes: number;
  /** Upgrades refused with 403 because the page's origin is not allowed. */
  forbidden: number;
}

export interface Stream {
  stats(): StreamStats;
  /** Closes every viewer with 1001 (going away) and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** Viewers never send anything; a byte or so of slack for clients that do by mistake. */
export const MAX_INCOMING = 128;

function reject(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length + 1}\r\n\r\n${reason}\n`);
}

/** The viewer's address for the per-address cap (see viewerAddress). */
export function clientAddress(req: IncomingMessage): string {
  const forwarded = req.headers['x-forwarded-for'];
  return viewerAddress(req.socket.remoteAddress ?? '', typeof forwarded === 'string' ? forwarded : undefined);
}

/**
 * The live stream over `ws`: one binary message per frame to every viewer. A viewer
 * whose unsent bytes exceed `maxBufferedBytes` has frames skipped until it catches up,
 * so nothing queues without bound. Dead connections are found by ping and terminated.
 */
export function createWsStream(options: StreamOptions): Stream {
  const { server, store, interval, maxViewers, maxBufferedBytes } = options;
  const path = options.path ?? '/stream';
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_INCOMING, clientTracking: true });
  const alive = new WeakSet<WebSocket>();
  /** Each viewer's TCP socket, kept from the upgrade, for writing prebuilt frames (see sendFrame). */
  const sockets = new WeakMap<WebSocket, Duplex>();
  let skipped = 0;
  const gate = createViewerGate({ path, maxViewers, maxViewersPerIp: options.maxViewersPerIp, allowOrigin: options.allowOrigin ?? ['*'] });
  let closing: Promise<void> | null = null;

  function sendFrame(ws: WebSocket, frame: Frame): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > maxBufferedBytes) {
      skipped++;
      return;
    }
    // The frame's bytes, WebSocket framing included, are built once and the same Buffer
    // goes to every viewer's socket. That stays correct beside ws's own Sender (pings,
    // close) because, with perMessageDeflate off and no Blob data, the Sender writes each
    // of its frames whole and synchronously: frames interleave, bytes never do. Nothing
    // goes out after the close frame, since ws leaves OPEN as it sends it.
    sockets.get(ws)!.write(wireFrame(frame, interval));
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Before the upgrade, so a refused page never becomes a viewer.
    const admission = gate.admit({ url: req.url ?? '', origin: req.headers.origin, host: req.headers.host, address: clientAddress(req) });
    if (admission.status !== 101) return reject(socket, admission.status, admission.reason);
    const release = admission.release;
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, function onViewer(ws) {
      sockets.set(ws, socket);
      ws.once('close', release);
      wss.emit('connection', ws, req);
    });
  }

  wss.on('connection', function onConnection(ws: WebSocket) {
    alive.add(ws);
    ws.on('pong', function onPong() {
      alive.add(ws);
    });
    ws.on('message', function onViewerMessage() {
      ws.close(1008, 'viewers do not send');
    });
    ws.on('error', function onViewerError() {
      ws.terminate();
    });
    const current = store.current();
    if (current) sendFrame(ws, current);
  });

  const unsubscribe = store.subscribe(function broadcast(frame) {
    for (const ws of wss.clients) sendFrame(ws, frame);
  });

  const heartbeat = setInterval(function ping() {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, options.heartbeat);
  heartbeat.unref();

  server.on('upgrade', onUpgrade);

  return {
    stats() {
      let bufferedBytes = 0;
      for (const ws of wss.clients) bufferedBytes += ws.bufferedAmount;
      return { viewers: wss.clients.size, skipped, ...gate.stats(), bufferedBytes };
    },
    close() {
      closing ??= new Promise<void>(function shutDown(resolve) {
        server.off('upgrade', onUpgrade);
        gate.close();
        unsubscribe();
        clearInterval(heartbeat);
        for (const ws of wss.clients) ws.close(1001, 'server shutting down');
        // Give viewers a moment to answer the close, then cut whoever has not.
        const deadline = setTimeout(() => {
          for (const ws of wss.clients) ws.terminate();
        }, 500);
        deadline.unref();
        wss.close(() => {
          clearTimeout(deadline);
          resolve();
        });
      });
      return closing;
    },
  };
}
