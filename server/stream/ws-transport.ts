import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ResolvedServeOptions } from '../options.js';
import { TpdneError, ErrorCodes } from '../errors.js';
import { fromNodeRequest, toNodeResponse, type HttpHandler } from '../http/exchange.js';
import { createWsStream, type Stream } from './ws-stream.js';
import { STARTING, NO_VIEWERS, type Transport } from './transport.js';

/** Longest header block accepted (431 past it), the same for both transports. */
export const MAX_HEADER_BYTES = 16 * 1024;

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

/** HTTP on Node's `http` server and the stream on `ws`, upgraded on the same port. */
export async function startWsTransport(options: ResolvedServeOptions): Promise<Transport> {
  let handler: HttpHandler | null = null;
  const server = createServer(
    {
      headersTimeout: options.headersTimeout,
      requestTimeout: options.headersTimeout + 5_000,
      // How often the timeouts above are checked (Node's default is every 30 s).
      connectionsCheckingInterval: Math.min(1_000, options.headersTimeout),
      maxHeaderSize: MAX_HEADER_BYTES,
      keepAliveTimeout: 5_000,
    },
    function route(req, res) {
      if (handler) return handler(fromNodeRequest(req), toNodeResponse(res));
      res.writeHead(STARTING.status, STARTING.headers);
      res.end(STARTING.body);
    },
  );
  server.on('clientError', function onClientError(err: NodeJS.ErrnoException, socket) {
    // Malformed, oversized or too-slow requests: a short answer, never a stack trace.
    if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 0\r\n\r\n`);
  });
  server.on('connect', function onConnectMethod(_req: IncomingMessage, socket: Duplex) {
    // CONNECT would otherwise be dropped without an answer; we are not a proxy.
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 0\r\n\r\n');
  });
  const port = await listen(server, options.port, options.host);

  let stream: Stream | null = null;
  let closing: Promise<void> | null = null;
  return {
    name: 'ws',
    port,
    server,
    serve(routes, store) {
      handler = routes;
      stream = createWsStream({
        server,
        store,
        interval: options.interval,
        maxViewers: options.maxViewers,
        maxViewersPerIp: options.maxViewersPerIp,
        maxBufferedBytes: options.maxBufferedBytes,
        heartbeat: options.heartbeat,
        allowOrigin: options.allowOrigin,
      });
    },
    stats() {
      return stream?.stats() ?? NO_VIEWERS;
    },
    close() {
      closing ??= (async function closeWsTransport() {
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await stream?.close();
        server.closeAllConnections();
        await httpClosed;
      })();
      return closing;
    },
  };
}
