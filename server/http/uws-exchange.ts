import { STATUS_CODES } from 'node:http';
import type { HttpRequest as UwsRequest, HttpResponse as UwsResponse } from 'uWebSockets.js';
import type { HttpHeaders, HttpRequest, HttpResponse } from './exchange.js';
import { normaliseAddress } from '../stream/viewer-address.js';

/** The status line uWS wants: `404 Not Found`. */
export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
}

/** The client's address as Node would report it. */
export function uwsRemoteAddress(res: UwsResponse): string {
  return normaliseAddress(Buffer.from(res.getRemoteAddressAsText()).toString());
}

/**
 * Reads everything the routes need from a uWS request, synchronously: uWS frees the
 * request when the handler returns. `headerBytes` is the size of the header block as
 * Node counts it for its limit (names, values and the separators).
 */
export function fromUwsRequest(res: UwsResponse, req: UwsRequest): { request: HttpRequest; headerBytes: number } {
  const headers: Record<string, string> = {};
  let headerBytes = 0;
  req.forEach(function readHeader(name, value) {
    headerBytes += name.length + value.length + 4;
    const seen = headers[name];
    headers[name] = seen === undefined ? value : `${seen}, ${value}`;
  });
  const query = req.getQuery();
  const request = {
    method: req.getCaseSensitiveMethod(),
    url: req.getUrl() + (query ? `?${query}` : ''),
    headers,
    remoteAddress: uwsRemoteAddress(res),
  };
  return { request, headerBytes };
}

/**
 * A uWS response behind the routes' interface. uWS requires an abort handler before any
 * async work and forbids touching the response after the client has gone, so one is
 * attached here, first, and `send` does nothing once aborted or answered. `closing()`
 * says whether to close the connection after this answer (during shutdown).
 */
export function toUwsResponse(res: UwsResponse, closing: () => boolean): HttpResponse {
  let done = false;
  res.onAborted(function onClientGone() {
    done = true;
  });
  return {
    get done() {
      return done;
    },
    send(status: number, headers: HttpHeaders, body?: Buffer | string) {
      if (done) return;
      done = true;
      // Possibly called later (after an await): the writes must be corked, or uWS sends
      // each header in its own packet (and warns).
      res.cork(function writeWhole() {
        res.writeStatus(statusLine(status));
        for (const name of Object.keys(headers)) {
          // With a body uWS writes Content-Length itself: twice would be a smuggling hazard.
          if (body === undefined || name.toLowerCase() !== 'content-length') res.writeHeader(name, String(headers[name]));
        }
        const close = closing();
        if (body !== undefined) return void res.end(body, close);
        // HEAD and 304: our own Content-Length (if any), nothing after the headers. Not
        // endWithoutBody(length): in v20.30 the connection then serves no further request,
        // and an explicit undefined length is sent as 2^63.
        if (close) res.writeHeader('Connection', 'close');
        res.endWithoutBody();
      });
    },
  };
}
