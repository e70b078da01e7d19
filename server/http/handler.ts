import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Frame } from '../frames/frame.js';
import type { FrameStore } from '../frames/store.js';
import { FORMAT_INFO } from '../encode/encoder.js';
import type { ImageFormat } from '../options.js';
import { renderClassicPage, renderWarmingPage } from './pages.js';
import type { StaticFile } from './static.js';
import { describeError } from '../errors.js';
import { createOriginPolicy } from './origin-policy.js';
import { embedCsp, renderEmbedPage } from './embed-page.js';

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
}

/** Files other sites load: the widget module (fetched in CORS mode, so it needs CORS headers) and its source map. */
const CROSS_ORIGIN_FILES = new Set(['/embed.js', '/embed.js.map']);

const IMMUTABLE = 'public, max-age=31536000, immutable';
const PAGE_CSP =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
  "connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";
const CLASSIC_CSP = PAGE_CSP.replace("script-src 'self'", "script-src 'none'");

/** Headers every response carries. */
function baseHeaders(res: ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'strict-origin-when-cross-origin');
}

function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string | number>, body: Buffer | string): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...headers, 'Content-Length': bytes.length });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

function sendText(req: IncomingMessage, res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  send(req, res, status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra }, text + '\n');
}

/** True when the request's validators say the client already has `etag`. */
function notModified(req: IncomingMessage, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  return header === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * The HTTP routes. Pointers (`/`, `/image.<ext>`) change every slot and are short-lived;
 * slot URLs (`/frames/<slot>.<ext>`) never change and are cached forever. That split is
 * what lets a CDN absorb any amount of traffic.
 */
export function createHttpHandler(options: HttpHandlerOptions) {
  const { store, interval, format, files } = options;
  const origins = createOriginPolicy(options.allowOrigin);
  const embedPolicy = embedCsp(options.frameAncestors ?? ['*']);
  const ext = FORMAT_INFO[format].ext;
  const type = FORMAT_INFO[format].type;
  const imagePaths = new Set(['/image', `/image.${ext}`, ...(format === 'jpeg' ? ['/image.jpeg'] : [])]);
  const framePattern = new RegExp(`^/frames/(\\d{1,15})\\.${ext}$`);
  // A CDN may keep a pointer for one interval (at least the 1 s HTTP can express);
  // browsers always revalidate, which the ETag makes cheap.
  const pointerCache = `public, max-age=0, s-maxage=${Math.max(1, Math.round(interval / 1000))}, must-revalidate`;

  function sendFrame(req: IncomingMessage, res: ServerResponse, frame: Frame, cacheControl: string): void {
    const headers = {
      'Content-Type': type,
      'Cache-Control': cacheControl,
      ETag: frame.etag,
      'Last-Modified': new Date(frame.createdAt).toUTCString(),
      'X-Tpdne-Slot': String(frame.slot),
      'Cross-Origin-Resource-Policy': 'cross-origin',
      ...origins.corsHeaders(req.headers.origin),
    };
    if (notModified(req, frame.etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    send(req, res, 200, headers, frame.bytes);
  }

  return function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    try {
      route(req, res);
    } catch (err) {
      // Never a stack trace in a response; the log gets the detail.
      options.log(`tpdne: ${req.method} ${req.url}: ${describeError(err)}`);
      if (!res.headersSent) sendText(req, res, 500, 'Internal error');
      else res.destroy();
    }
  };

  function route(req: IncomingMessage, res: ServerResponse): void {
    baseHeaders(res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendText(req, res, 405, 'Method not allowed', { Allow: 'GET, HEAD' });
    }
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      return sendText(req, res, 400, 'Bad request');
    }
    const current = store.current();

    if (path === '/') {
      if (!current) {
        return send(req, res, 503, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Retry-After': '1' }, renderWarmingPage());
      }
      const headers = {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': pointerCache,
        ETag: current.etag,
        'Content-Security-Policy': CLASSIC_CSP,
        'X-Frame-Options': 'SAMEORIGIN',
      };
      if (notModified(req, current.etag)) {
        res.writeHead(304, headers);
        return void res.end();
      }
      return send(req, res, 200, headers, renderClassicPage(current, { modelName: options.modelName, pixelated: options.pixelated() }));
    }

    if (imagePaths.has(path)) {
      if (!current) return sendText(req, res, 503, 'No frame yet', { 'Retry-After': '1' });
      return sendFrame(req, res, current, pointerCache);
    }

    if (path.startsWith('/frames/')) {
      const match = framePattern.exec(path);
      if (!match) return sendText(req, res, 400, `Expected /frames/<slot>.${ext}`);
      const frame = store.get(Number(match[1]));
      if (!frame) return sendText(req, res, 404, 'Frame not kept (too old or not made yet)');
      return sendFrame(req, res, frame, IMMUTABLE);
    }

    if (path === '/healthz') {
      const report = options.health();
      return send(req, res, 200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, JSON.stringify(report) + '\n');
    }

    if (path === '/embed') {
      const headers = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'public, max-age=60', 'Content-Security-Policy': embedPolicy };
      return send(req, res, 200, headers, renderEmbedPage(new URL(req.url ?? '/', 'http://x').searchParams));
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
        res.writeHead(304, headers);
        return void res.end();
      }
      return send(req, res, 200, headers, file.bytes);
    }
    return sendText(req, res, 404, 'Not found');
  }
}
