import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A request as the routes see it: only what every transport can read synchronously,
 * before any async work (uWebSockets.js frees its request object when the handler returns).
 */
export interface HttpRequest {
  readonly method: string;
  /** Path and query as sent, e.g. `/embed?fit=cover`. */
  readonly url: string;
  /** Lower-case names; a repeated header's values joined with `, `. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly remoteAddress: string;
}

/** Header values as the routes write them. */
export type HttpHeaders = Record<string, string | number>;

/**
 * How a route answers: status, headers and body at once, so a transport can write them
 * under one cork. Each transport implements it; the routes never see the transport.
 */
export interface HttpResponse {
  /** True once answered, or once the client has gone: `send` does nothing then. */
  readonly done: boolean;
  /**
   * Sends the whole response. The routes always give `Content-Length` with a body, and
   * with none for HEAD (the length the body would have); a 304 has neither. A transport
   * that frames bodies itself may replace the header with its own of the same value.
   */
  send(status: number, headers: HttpHeaders, body?: Buffer | string): void;
}

/** The routes' entry point, as every transport calls it. */
export type HttpHandler = (req: HttpRequest, res: HttpResponse) => void;

/** The Node `http` request in the routes' shape. */
export function fromNodeRequest(req: IncomingMessage): HttpRequest {
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    // Node joins repeated headers with ', ' already (set-cookie aside, which no route reads).
    headers: req.headers as Record<string, string | undefined>,
    remoteAddress: req.socket.remoteAddress ?? '',
  };
}

/** A Node `http` response behind the routes' interface. */
export function toNodeResponse(res: ServerResponse): HttpResponse {
  return {
    get done() {
      return res.headersSent || res.destroyed;
    },
    send(status, headers, body) {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(status, headers);
      res.end(body);
    },
  };
}
