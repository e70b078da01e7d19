import type { HttpHandler, HttpHeaders, HttpRequest, HttpResponse } from './exchange.js';
import type { Frame } from '../frames/frame.js';
import type { FrameStore } from '../frames/store.js';
import { FORMAT_INFO } from '../encode/encoder.js';
import type { ImageFormat } from '../options.js';
import { describeError } from '../errors.js';
import { renderClassicPage, renderWarmingPage } from './pages.js';
import type { StaticFile } from './static.js';
import { createOriginPolicy } from './origin-policy.js';
import { embedCsp, renderEmbedPage } from './embed-page.js';
import type { Favicons } from './favicon.js';
import { createFrameHeaders } from './frame-headers.js';

export interface HealthReport {
  status: 'starting' | 'ok' | 'degraded';
  [key: string]: unknown;
}

export interface HttpHandlerOptions {
  store: FrameStore;
  interval: number;
  format: ImageFormat;
  modelName: string;
  /** True when frames are upscaled pixel art: the page asks browsers not to smooth them. */
  pixelated: () => boolean;
  health: () => HealthReport;
  files: Map<string, StaticFile>;
  log: (line: string) => void;
  /** Origins allowed to read images and embed.js cross-origin (CORS). Default `['*']`. */
  allowOrigin?: readonly string[];
  /** CSP frame-ancestors of `/embed`. Default `['*']`: any site may frame it. */
  frameAncestors?: readonly string[];
  /** Serves `/favicon.png` (the current frame, small) when given. */
  favicon?: Favicons;
}

/** Files other sites load: the widget module (fetched in CORS mode, so it needs CORS headers) and its source map. */
const CROSS_ORIGIN_FILES = new Set(['/embed.js', '/embed.js.map']);

const IMMUTABLE = 'public, max-age=31536000, immutable';
const PAGE_CSP =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
  "connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";
const CLASSIC_CSP = PAGE_CSP.replace("script-src 'self'", "script-src 'none'");

/** Headers every response carries. */
const BASE_HEADERS = Object.freeze({ 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'strict-origin-when-cross-origin' });

function send(req: HttpRequest, res: HttpResponse, status: number, headers: HttpHeaders, body: Buffer | string): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.send(status, { ...BASE_HEADERS, ...headers, 'Content-Length': bytes.length }, req.method === 'HEAD' ? undefined : bytes);
}

function sendText(req: HttpRequest, res: HttpResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  send(req, res, status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra }, text + '\n');
}

/** True when the request's validators say the client already has `etag`. */
function notModified(req: HttpRequest, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  return header === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * RFC 9110 13.2.2: If-None-Match decides when present; If-Modified-Since only without it.
 * Last-Modified has whole seconds and a pointer can change several times within one, so
 * a pointer is "not modified" only if it changed before the given second began. A slot
 * URL never changes: any date from its Last-Modified on matches.
 */
function conditionMet(req: HttpRequest, etag: string, modifiedAt: number, immutable: boolean): boolean {
  if (req.headers['if-none-match'] !== undefined) return notModified(req, etag);
  const since = req.headers['if-modified-since'];
  const date = since === undefined ? NaN : Date.parse(since);
  // A date in the future is not a date the client got from us (RFC 7232 calls it invalid).
  if (Number.isNaN(date) || date > Date.now()) return false;
  return immutable ? date >= Math.floor(modifiedAt / 1000) * 1000 : modifiedAt < date;
}

/** 304 with the validators and caching headers, else 200 with the body (made only then) and its type. */
function sendValidated(
  req: HttpRequest,
  res: HttpResponse,
  validated: { etag: string; modifiedAt: number; immutable: boolean },
  headers: Record<string, string>,
  type: string,
  body: () => Buffer | string,
): void {
  const all = { ...headers, ETag: validated.etag, 'Last-Modified': new Date(validated.modifiedAt).toUTCString() };
  if (conditionMet(req, validated.etag, validated.modifiedAt, validated.immutable)) {
    res.send(304, { ...BASE_HEADERS, ...all });
    return;
  }
  send(req, res, 200, { 'Content-Type': type, ...all }, body());
}

/**
 * The path a request names, as nginx reads it (merge_slashes, dot segments resolved), so
 * the app answers a URL with what a proxy in front caches under it: `//image.webp` is
 * `/image.webp`, never a URL with host `image.webp`. Null when it is not an origin-form path.
 */
export function requestPath(url: string | undefined): string | null {
  let raw = (url ?? '/').split(/[?#]/, 1)[0]!;
  // Absolute-form (`GET http://host/path`), which HTTP/1.1 servers must accept.
  const absolute = /^https?:\/\/[^/]*/i.exec(raw);
  if (absolute) raw = raw.slice(absolute[0].length) || '/';
  if (!raw.startsWith('/')) return null;
  try {
    // A backslash is a character of the path to nginx, but a slash to the URL parser.
    return new URL(raw.replace(/\\/g, '%5C').replace(/\/{2,}/g, '/'), 'http://x').pathname;
  } catch {
    return null;
  }
}

/** The query of a request's URL (whatever its path looks like). */
export function requestQuery(url: string | undefined): URLSearchParams {
  const query = /\?([^#]*)/.exec(url ?? '');
  return new URLSearchParams(query?.[1] ?? '');
}

/**
 * The HTTP routes. Pointers (`/`, `/image.<ext>`) change every slot and are short-lived;
 * slot URLs (`/frames/<slot>.<ext>`) never change and are cached forever. That split is
 * what lets a CDN absorb any amount of traffic.
 */
export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  const { store, interval, format, files } = options;
  const origins = createOriginPolicy(options.allowOrigin);
  const embedPolicy = embedCsp(options.frameAncestors ?? ['*']);
  const ext = FORMAT_INFO[format].ext;
  const type = FORMAT_INFO[format].type;
  const imagePaths = new Set(['/image', `/image.${ext}`, ...(format === 'jpeg' ? ['/image.jpeg'] : [])]);
  // One URL per frame: no leading zeros, so a cache never holds the same frame twice.
  const framePattern = new RegExp(`^/frames/(0|[1-9]\\d{0,14})\\.${ext}$`);
  // Shared caches (nginx, CDNs) may keep a pointer for one interval, or the 1 s that is
  // the least HTTP can say; rounded down so they never keep it much longer than a slot.
  // Browsers always revalidate, which the ETag makes cheap.
  const sharedSeconds = Math.max(1, Math.floor(interval / 1000));
  const pointerHeaders = {
    'Cache-Control': `public, max-age=0, s-maxage=${sharedSeconds}, must-revalidate`,
    // RFC 9213, for CDNs only (Cloudflare, Fastly, Akamai); it wins over Cache-Control there.
    'CDN-Cache-Control': `public, max-age=${sharedSeconds}`,
  };

  // With `*` the CORS headers are the same for every request, so they are part of the
  // headers made once per frame; an origin list answers each Origin differently.
  const frameHeaders = createFrameHeaders({
    type,
    pointer: pointerHeaders,
    immutable: { 'Cache-Control': IMMUTABLE },
    cors: origins.any ? origins.corsHeaders(undefined) : {},
    base: BASE_HEADERS,
  });
  const imagePath = `/image.${ext}`;

  function sendFrame(req: HttpRequest, res: HttpResponse, frame: Frame, immutable: boolean): void {
    const headers = frameHeaders.get(frame, immutable, origins.any ? undefined : origins.corsHeaders(req.headers.origin));
    if (conditionMet(req, frame.etag, frame.createdAt, immutable)) return res.send(304, headers.notModified);
    res.send(200, headers.ok, req.method === 'HEAD' ? undefined : frame.bytes);
  }

  return function handleRequest(req: HttpRequest, res: HttpResponse): void {
    try {
      // The most requested URL, plainly asked for: answered with the frame's prebuilt
      // headers on a response nothing was set on yet, which spares Node's per-header
      // setHeader() work (measured by `npm run bench -- http`). Everything else, and any
      // conditional or cross-origin-listed request, takes route().
      if (req.url === imagePath && req.method === 'GET' && origins.any && req.headers['if-none-match'] === undefined && req.headers['if-modified-since'] === undefined) {
        const current = store.current();
        if (current) return res.send(200, frameHeaders.get(current, false).ok, current.bytes);
      }
      route(req, res);
    } catch (err) {
      // Never a stack trace in a response; the log gets the detail.
      options.log(`tpdne: ${req.method} ${req.url}: ${describeError(err)}`);
      // Responses go out whole, so a route that threw has sent nothing.
      if (!res.done) sendText(req, res, 500, 'Internal error');
    }
  };

  function route(req: HttpRequest, res: HttpResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendText(req, res, 405, 'Method not allowed', { Allow: 'GET, HEAD' });
    }
    const path = requestPath(req.url);
    if (path === null) return sendText(req, res, 400, 'Bad request');
    const current = store.current();

    if (path === '/') {
      if (!current) {
        return send(req, res, 503, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Retry-After': '1' }, renderWarmingPage());
      }
      const headers = { ...pointerHeaders, 'Content-Security-Policy': CLASSIC_CSP, 'X-Frame-Options': 'SAMEORIGIN' };
      const validated = { etag: current.etag, modifiedAt: current.createdAt, immutable: false };
      return sendValidated(req, res, validated, headers, 'text/html; charset=utf-8', () =>
        renderClassicPage(current, { modelName: options.modelName, pixelated: options.pixelated() }),
      );
    }

    if (imagePaths.has(path)) {
      if (!current) return sendText(req, res, 503, 'No frame yet', { 'Retry-After': '1' });
      return sendFrame(req, res, current, false);
    }

    if (path === '/favicon.png' && options.favicon) {
      if (!current) return sendText(req, res, 503, 'No frame yet', { 'Retry-After': '1' });
      const favicon = options.favicon;
      const validated = { etag: favicon.etag(current), modifiedAt: current.createdAt, immutable: false };
      // A revalidation is answered without making the favicon.
      if (conditionMet(req, validated.etag, validated.modifiedAt, false)) return sendValidated(req, res, validated, pointerHeaders, 'image/png', () => '');
      favicon.png(current).then(
        function sendFavicon(png) {
          sendValidated(req, res, validated, pointerHeaders, 'image/png', () => png);
        },
        function faviconFailed(err: unknown) {
          sendText(req, res, 500, describeError(err));
        },
      );
      return;
    }

    if (path.startsWith('/frames/')) {
      const match = framePattern.exec(path);
      if (!match) return sendText(req, res, 400, `Expected /frames/<slot>.${ext}`);
      const frame = store.get(Number(match[1]));
      if (!frame) return sendText(req, res, 404, 'Frame not kept (too old or not made yet)');
      return sendFrame(req, res, frame, true);
    }

    if (path === '/healthz') {
      const report = options.health();
      return send(req, res, 200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, JSON.stringify(report) + '\n');
    }

    if (path === '/stream') {
      // A plain GET of the stream's URL: the socket lives here, but only as an upgrade.
      return sendText(req, res, 426, 'Upgrade Required: /stream is a WebSocket', { Upgrade: 'websocket' });
    }

    if (path === '/embed') {
      const headers = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'public, max-age=60', 'Content-Security-Policy': embedPolicy };
      return send(req, res, 200, headers, renderEmbedPage(requestQuery(req.url)));
    }

    const file = files.get(path === '/live' ? '/live.html' : path);
    if (file && !path.endsWith('.html')) {
      const page = file.type.startsWith('text/html');
      const headers: Record<string, string> = {
        'Content-Type': file.type,
        'Cache-Control': path.startsWith('/assets/') ? IMMUTABLE : 'public, max-age=0, must-revalidate',
        ETag: file.etag,
      };
      if (page) {
        headers['Content-Security-Policy'] = PAGE_CSP;
        headers['X-Frame-Options'] = 'SAMEORIGIN';
      }
      if (CROSS_ORIGIN_FILES.has(path)) {
        // Public code anyone could copy: readable by every site. --allow-origin is
        // enforced where it matters, on the socket and the images.
        Object.assign(headers, { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' });
      }
      if (notModified(req, file.etag)) {
        return res.send(304, { ...BASE_HEADERS, ...headers });
      }
      return send(req, res, 200, headers, file.bytes);
    }
    return sendText(req, res, 404, 'Not found');
  }
}
