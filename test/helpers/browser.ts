import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { findProgram } from './system.js';

/**
 * Debian's chromium through playwright-core: never a downloaded browser. Use with
 * `describe(..., { skip: skipUnlessProgram('chromium', 'chromium') })`.
 */
export function launchChromium(): Promise<Browser> {
  const executablePath = findProgram('chromium') ?? '/usr/bin/chromium';
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface Site {
  /** Base URL with a trailing slash, e.g. `http://127.0.0.1:40123/`. */
  readonly url: string;
  /** Its origin, e.g. `http://127.0.0.1:40123`. */
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * A second web server on another port, so a page comes from a different origin than the
 * tpdne server: the "third-party site" that embeds the widget. Serves `render(url)` as
 * HTML for every path (favicon requests get 404).
 */
export async function startSite(render: (url: URL, req: IncomingMessage) => string): Promise<Site> {
  const server = createServer(function thirdPartyPage(req, res) {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    const body = render(url, req);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin + '/',
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A third-party page embedding the widget from `server`, as the README shows it. */
export function embeddingPage(server: string, options: { attributes?: string; before?: string; after?: string } = {}): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>A site that embeds tpdne</title>
<script type="module" src="${server}/embed.js"></script>
<style>body{margin:0;font:16px Georgia,serif;background:#faf7f2;color:#222} tpdne-stream{width:256px}</style>
</head>
<body>${options.before ?? ''}<tpdne-stream src="${server}"${options.attributes ?? ''}></tpdne-stream>${options.after ?? ''}</body>
</html>
`;
}

export const sha1 = (bytes: Uint8Array): string => createHash('sha1').update(bytes).digest('hex');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
