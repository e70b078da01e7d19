import { DEFAULT_SERVE_OPTIONS, integerOption, invalidOption } from '../options.js';
import { configPathOption, domainOption, missingOption, listenAddressOption, portOption, upstreamOption, type Upstream } from './validate.js';

/** Everything `tpdne nginx` accepts. All optional except `domain`. */
export interface NginxOptions {
  /** The public name, e.g. `tpdne.example.com`. Required. */
  domain?: string;
  /** Where `tpdne serve` listens. Default `127.0.0.1:8080`. */
  upstream?: string;
  /**
   * `letsencrypt` (certbot's files for the domain), `off` (plain HTTP: local use, or behind
   * a CDN that terminates TLS) or the path of a certificate whose key is `tlsKey`.
   * Default `letsencrypt`.
   */
  tls?: string;
  /** Certificate file (full chain, PEM); the same as `tls: <cert>`. */
  tlsCert?: string;
  /** Private key file (PEM) for `tls: <cert>` or `tlsCert`. */
  tlsKey?: string;
  /** The server's --interval in ms: pointers are cached for one slot. Default `250`. */
  interval?: number | string;
  /** Address to listen on. Default: every IPv4 and IPv6 address. */
  listen?: string;
  /** Default `80`. */
  httpPort?: number | string;
  /** Default `443`. */
  httpsPort?: number | string;
  /** Folder of nginx's response cache. Default `/var/lib/nginx/tpdne-<domain>`. */
  cacheDir?: string;
  /** Where certbot keeps `<domain>/fullchain.pem`. Default `/etc/letsencrypt/live`. */
  letsencryptDir?: string;
  /** Folder served for ACME http-01 challenges (`certbot --webroot -w`). Default `/var/www/letsencrypt`. */
  acmeRoot?: string;
  /** Relative paths are resolved against this. Default `process.cwd()`. */
  cwd?: string;
}

export type TlsSetup = { readonly mode: 'off' } | { readonly mode: 'letsencrypt' | 'files'; readonly cert: string; readonly key: string };

export interface ResolvedNginxOptions {
  readonly domain: string;
  readonly upstream: Upstream;
  readonly tls: TlsSetup;
  readonly interval: number;
  /** null: every address, IPv4 and IPv6. */
  readonly listen: string | null;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly cacheDir: string;
  readonly acmeRoot: string;
}

export const DEFAULT_NGINX_OPTIONS = Object.freeze({
  upstream: '127.0.0.1:8080',
  tls: 'letsencrypt',
  interval: DEFAULT_SERVE_OPTIONS.interval,
  httpPort: 80,
  httpsPort: 443,
  cacheRoot: '/var/lib/nginx',
  letsencryptDir: '/etc/letsencrypt/live',
  acmeRoot: '/var/www/letsencrypt',
} as const);

const KNOWN_KEYS = new Set(['domain', 'upstream', 'tls', 'tlsCert', 'tlsKey', 'interval', 'listen', 'httpPort', 'httpsPort', 'cacheDir', 'letsencryptDir', 'acmeRoot', 'cwd']);

function resolveTls(options: NginxOptions, domain: string, cwd: string): TlsSetup {
  const { tls, tlsCert, tlsKey } = options;
  if (tls === 'off' || tls === 'letsencrypt' || (tls === undefined && tlsCert === undefined)) {
    const mode = tls ?? DEFAULT_NGINX_OPTIONS.tls;
    if (tlsCert !== undefined) invalidOption('tlsCert', `no certificate with --tls ${mode}`, tlsCert);
    if (tlsKey !== undefined) invalidOption('tlsKey', `no key with --tls ${mode}`, tlsKey);
    if (mode === 'off') return Object.freeze({ mode });
    const live = configPathOption('letsencryptDir', options.letsencryptDir ?? DEFAULT_NGINX_OPTIONS.letsencryptDir, cwd);
    return Object.freeze({ mode, cert: `${live}/${domain}/fullchain.pem`, key: `${live}/${domain}/privkey.pem` });
  }
  if (tls !== undefined && tlsCert !== undefined) invalidOption('tlsCert', 'one certificate (--tls <cert> <key> or --tls-cert)', tlsCert);
  const certKey = tls !== undefined ? 'tls' : 'tlsCert';
  const cert = configPathOption(certKey, tls ?? tlsCert, cwd);
  if (tlsKey === undefined) missingOption('tlsKey', `the key of certificate ${cert} (--tls <cert> <key>, or --tls-key <file>)`);
  const key = configPathOption('tlsKey', tlsKey, cwd);
  return Object.freeze({ mode: 'files', cert, key });
}

/** Validates every option at once and fills in the defaults. */
export function resolveNginxOptions(options: NginxOptions): ResolvedNginxOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) invalidOption(key, 'a known option', (options as Record<string, unknown>)[key]);
  }
  const d = DEFAULT_NGINX_OPTIONS;
  const cwd = options.cwd ?? process.cwd();
  const domain = domainOption('domain', options.domain);
  const httpPort = portOption('httpPort', options.httpPort, d.httpPort);
  const httpsPort = portOption('httpsPort', options.httpsPort, d.httpsPort);
  const tls = resolveTls(options, domain, cwd);
  if (tls.mode !== 'off' && httpPort === httpsPort) invalidOption('httpsPort', `a port other than --http-port ${httpPort}`, options.httpsPort);
  return Object.freeze({
    domain,
    upstream: upstreamOption('upstream', options.upstream ?? d.upstream),
    tls,
    interval: intervalOption(options.interval),
    listen: options.listen === undefined ? null : listenAddressOption('listen', options.listen),
    httpPort,
    httpsPort,
    cacheDir: configPathOption('cacheDir', options.cacheDir ?? `${d.cacheRoot}/tpdne-${siteId(domain)}`, cwd),
    acmeRoot: configPathOption('acmeRoot', options.acmeRoot ?? d.acmeRoot, cwd),
  });
}

/** Most map entries (slots per window) the slot map may have: nginx tries them in order. */
const MAX_MAP_SLOTS = 1000;

/**
 * The window the slot map repeats over, for an interval below a second: the smallest
 * 10^digits seconds (1, 10, 100 or 1000) that holds a whole number of slots, so slot edges
 * fall where the server's do (`floor(unix ms / interval)`) in every window. null when
 * there is none, or it would take more than {@link MAX_MAP_SLOTS} entries: `$msec` can only
 * be matched by pattern, and a window of decimal digits fits only intervals of 2s and 5s.
 */
export function slotWindow(interval: number): { digits: number; slots: number } | null {
  for (let digits = 0; digits <= 3; digits++) {
    const ms = 1000 * 10 ** digits;
    if (ms % interval === 0) return ms / interval <= MAX_MAP_SLOTS ? { digits, slots: ms / interval } : null;
  }
  return null;
}

/** The server's --interval. */
function intervalOption(value: unknown): number {
  return integerOption('interval', value, DEFAULT_NGINX_OPTIONS.interval, 20, 3_600_000);
}

/**
 * The time buckets the pointers' cache key counts, for an interval below a second: the
 * interval itself where {@link slotWindow} can cut time into it (each bucket edge is a
 * server slot edge), else the longest interval below it that can be cut, so a cached
 * pointer is never more than one slot behind and the origin sees at most one fetch per
 * bucket (300 ms slots: 250 ms buckets).
 */
export function slotBucket(interval: number): number {
  for (let bucket = interval; bucket > 1; bucket--) if (slotWindow(bucket) !== null) return bucket;
  return 1;
}

/** The domain as an nginx identifier, so two sites on one nginx never share a zone or a variable. */
export function siteId(domain: string): string {
  return domain.replace(/[^a-z0-9]/g, '_');
}

/**
 * A regular expression (source) matching the `width`-digit zero-padded numbers `lo`..`hi`,
 * e.g. 250..499 → `2[5-9]\d|[3-4]\d\d`. nginx maps cannot compare numbers, so the
 * tail of `$msec` is split into slots by pattern.
 */
export function digitRangePattern(lo: number, hi: number, width = 3): string {
  const pad = (n: number) => String(n).padStart(width, '0');
  return rangeParts(pad(lo), pad(hi)).join('|');
}

function rangeParts(lo: string, hi: string): string[] {
  if (lo.length === 0) return [''];
  const rest = lo.length - 1;
  const any = '\\d'.repeat(rest);
  const a = Number(lo[0]);
  const b = Number(hi[0]);
  const restLo = lo.slice(1);
  const restHi = hi.slice(1);
  if (a === b) return rangeParts(restLo, restHi).map((p) => a + p);
  const parts: string[] = [];
  let from = a;
  let to = b;
  if (restLo !== '0'.repeat(rest)) {
    parts.push(...rangeParts(restLo, '9'.repeat(rest)).map((p) => a + p));
    from = a + 1;
  }
  const partialTail = restHi !== '9'.repeat(rest);
  if (partialTail) to = b - 1;
  if (from <= to) parts.push((from === to ? String(from) : `[${from}-${to}]`) + any);
  if (partialTail) parts.push(...rangeParts('0'.repeat(rest), restHi).map((p) => b + p));
  return parts;
}

/**
 * The `map $msec` entries for an interval below a second: one pattern per slot of the
 * window, matching the window's last `digits` digits of the seconds and the three of the
 * milliseconds, and naming the slot `<seconds above the window>.<slot in the window>`.
 */
export function slotMapEntries(interval: number): string[] {
  const window = slotWindow(interval);
  if (window === null) throw new RangeError(`no slot window for ${interval} ms`);
  const width = window.digits + 3;
  const entries: string[] = [];
  for (let i = 0; i < window.slots; i++) {
    const alternatives = digitRangePattern(i * interval, (i + 1) * interval - 1, width)
      .split('|')
      .map((alternative) => {
        // Each alternative is `width` units (a digit, `\d` or `[a-b]`); the dot of $msec
        // goes before the last three.
        const units = alternative.match(/\\d|\[\d-\d\]|\d/g)!;
        return [...units.slice(0, window.digits), '\\.', ...units.slice(window.digits)].join('');
      });
    entries.push(`"~^(\\d+)(?:${alternatives.join('|')})$" $1.${i};`);
  }
  return entries;
}

/**
 * How long requests wait for the one request that is filling a new cache entry. nginx
 * does not wake waiters when the entry is ready: each sleeps this long (500 ms at most
 * per nap), then reads the cache, or, if the fill is still running, goes to the origin
 * uncached. So the wait is one slot (100 ms to 1 s): the few requests that arrive during
 * a fill are one slot late, and an origin stalled by a GC pause or a busy CPU gets one
 * request per slot instead of a stampede. Measured with 1,000 requests/s through nginx:
 * a fifth of a slot let 20-60 requests a second through to a briefly stalled origin.
 */
export function cacheLockTimeout(interval: number): number {
  return Math.min(1000, Math.max(100, interval));
}

const INDENT = '    ';

function block(head: string, lines: readonly string[], depth = 0): string[] {
  const pad = INDENT.repeat(depth);
  return [`${pad}${head} {`, ...lines.map((l) => (l === '' ? '' : `${pad}${INDENT}${l}`)), `${pad}}`];
}

function listenLines(address: string | null, port: number, suffix: string): string[] {
  const tail = suffix ? ` ${suffix}` : '';
  return address === null ? [`listen ${port}${tail};`, `listen [::]:${port}${tail};`] : [`listen ${address}:${port}${tail};`];
}

/**
 * The security headers nginx adds to every response. They are set once, at server
 * level, with `always` (so errors and redirects carry them too). No location below adds
 * a header of its own: one `add_header` in a location would silently drop every
 * inherited one (the trap that lost the original's X-Frame-Options).
 */
export function securityHeaders(tls: boolean, frameOptions = 'SAMEORIGIN'): [string, string][] {
  return [
    ...(tls ? ([['Strict-Transport-Security', 'max-age=63072000']] as [string, string][]) : []),
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Frame-Options', frameOptions],
    ['Referrer-Policy', 'strict-origin-when-cross-origin'],
  ];
}

function addHeaderLines(tls: boolean, frameOptions: string): string[] {
  return securityHeaders(tls, frameOptions).map(([name, value]) => `add_header ${name} "${value}" always;`);
}

/**
 * proxy_set_header has the same inheritance rule as add_header, so a location that needs
 * one more header (the WebSocket upgrade) repeats the whole set.
 */
function proxyHeaderLines(extra: [string, string][] = []): string[] {
  const headers: [string, string][] = [
    ['Host', '$host'],
    ['X-Real-IP', '$remote_addr'],
    ['X-Forwarded-For', '$proxy_add_x_forwarded_for'],
    ['X-Forwarded-Proto', '$scheme'],
    ...extra,
  ];
  return headers.map(([name, value]) => `proxy_set_header ${name} ${value.includes(' ') || value === '' ? `"${value}"` : value};`);
}

/** The nginx config for one tpdne site: text for conf.d/ or sites-enabled/. Pure. */
export function renderNginxConfig(o: ResolvedNginxOptions): string {
  const id = siteId(o.domain);
  const upstreamName = `tpdne_${id}`;
  const slotVar = `$tpdne_${id}_slot`;
  const frameOptionsVar = `$tpdne_${id}_frame_options`;
  const tls = o.tls.mode !== 'off';
  const lockTimeout = cacheLockTimeout(o.interval);
  const subSecond = o.interval < 1000;
  // Below a second, HTTP's max-age (whole seconds) cannot say "one slot", so the pointer's
  // cache key carries the slot of the request's instant: a new key, and one origin fetch,
  // per slot. From a second up, the app's s-maxage says it.
  const pointerKey = subSecond ? `"$uri ${slotVar}"` : '$uri';

  const out: string[] = [
    `# tpdne for ${o.domain}, generated by \`tpdne nginx\`.`,
    '# Install: copy to /etc/nginx/conf.d/tpdne.conf (inside nginx\'s http block), then',
    '#   nginx -t && systemctl reload nginx',
    `# Origin: tpdne serve on ${o.upstream.host}:${o.upstream.port}, one image every ${o.interval} ms.`,
    tls
      ? `# TLS: ${o.tls.mode === 'letsencrypt' ? "certbot's files for the domain" : 'the given certificate'}; port ${o.httpPort} redirects to ${o.httpsPort}.`
      : '# TLS: off (local use, or behind a CDN that terminates TLS).',
    '',
    ...block(`upstream ${upstreamName}`, [`server ${o.upstream.host}:${o.upstream.port};`, 'keepalive 16;']),
    '',
    '# Pointers (/, /image.webp) live one slot; /frames/<slot>.webp forever. The app says so',
    "# in Cache-Control; nginx follows it. Old entries go when unused for 10 minutes.",
    `proxy_cache_path ${o.cacheDir} levels=1:2 keys_zone=${upstreamName}:10m max_size=512m inactive=10m use_temp_path=off;`,
    '',
    '# /embed is made to be framed by other sites: the app says by whom (CSP frame-ancestors,',
    '# --frame-ancestors), so it gets no X-Frame-Options. add_header skips an empty value,',
    '# so the header stays set once, at server level, for every other response.',
    ...block(`map $uri ${frameOptionsVar}`, ['/embed "";', 'default "SAMEORIGIN";']),
    '',
  ];
  if (subSecond) {
    const bucket = slotBucket(o.interval);
    out.push(
      bucket === o.interval
        ? `# The slot of the current instant ($msec is "<seconds>.<ms>"): ${o.interval} ms slots, counted within`
        : `# ${o.interval} ms slots do not fit decimal time ($msec is "<seconds>.<ms>"): ${bucket} ms buckets stand in, so a pointer is at most one slot old, counted within`,
      `# windows of ${10 ** slotWindow(bucket)!.digits} s that hold a whole number of them${bucket === o.interval ? ", so each edge is the server's" : ''}.`,
      ...block(`map $msec ${slotVar}`, [...slotMapEntries(bucket), 'default $msec;']),
      '',
    );
  }

  const common = [
    'server_tokens off;',
    '',
    ...addHeaderLines(tls, frameOptionsVar),
    // The app sends some of these itself; hide its copies so each appears once.
    ...securityHeaders(tls).map(([name]) => `proxy_hide_header ${name};`),
    '# HIT, MISS, EXPIRED…: what the cache did for this response.',
    'add_header X-Cache-Status $upstream_cache_status always;',
    '',
    '# Viewers only GET and HEAD: no bodies, short waits for slow clients.',
    'client_max_body_size 1k;',
    'client_body_timeout 10s;',
    'client_header_timeout 10s;',
    'large_client_header_buffers 4 16k;',
    'send_timeout 30s;',
    'keepalive_timeout 30s;',
    '',
    '# Text is compressed; images are not (WebP and JPEG already are).',
    'gzip on;',
    'gzip_vary on;',
    'gzip_min_length 256;',
    'gzip_types text/css text/javascript application/javascript application/json image/svg+xml;',
    '',
    'proxy_http_version 1.1;',
    'proxy_set_header Connection "";',
    ...proxyHeaderLines(),
    'proxy_connect_timeout 5s;',
    'proxy_read_timeout 30s;',
    'proxy_send_timeout 30s;',
    `proxy_cache ${upstreamName};`,
    // $uri, not $request_uri: a query string cannot make a new key and reach the origin.
    'proxy_cache_key $uri;',
    'proxy_cache_lock on;',
    `proxy_cache_lock_timeout ${lockTimeout}ms;`,
    `proxy_cache_lock_age ${lockTimeout}ms;`,
    '',
    '# The classic page and the current image: one slot in the cache, one origin fetch per slot.',
    // While one request refreshes an expired pointer, the others get the old copy (the lock
    // covers only entries that do not exist yet).
    ...block('location = /', [`proxy_cache_key ${pointerKey};`, 'proxy_cache_use_stale updating;', `proxy_pass http://${upstreamName};`]),
    ...block('location ~ ^/(?:image(?:\\.webp|\\.jpe?g)?|favicon\\.png)$', [
      'gzip off;',
      `proxy_cache_key ${pointerKey};`,
      'proxy_cache_use_stale updating;',
      `proxy_pass http://${upstreamName};`,
    ]),
    '',
    '# Slot URLs never change: cached as long as the app says (a year, immutable).',
    ...block('location ^~ /frames/', ['gzip off;', 'proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;', `proxy_pass http://${upstreamName};`]),
    '',
    '# The live stream: a WebSocket, never cached, open for hours (the app pings every 30 s).',
    ...block('location = /stream', [
      'proxy_cache off;',
      'proxy_buffering off;',
      ...proxyHeaderLines([
        ['Upgrade', '$http_upgrade'],
        ['Connection', 'upgrade'],
      ]),
      'proxy_read_timeout 1h;',
      'proxy_send_timeout 1h;',
      `proxy_pass http://${upstreamName};`,
    ]),
    '',
    ...block('location = /healthz', ['proxy_cache off;', `proxy_pass http://${upstreamName};`]),
    '',
    '# /live, its assets (immutable) and everything else, cached as the app says.',
    ...block('location /', [`proxy_pass http://${upstreamName};`]),
  ];

  const acme = block('location ^~ /.well-known/acme-challenge/', [`root ${o.acmeRoot};`, 'default_type text/plain;']);
  if (!tls) {
    out.push(
      ...block('server', [...listenLines(o.listen, o.httpPort, ''), `server_name ${o.domain};`, '', '# certbot --webroot, should you add TLS here later.', ...acme, '', ...common]),
    );
  } else {
    const https = o.httpsPort === 443 ? '' : `:${o.httpsPort}`;
    const t = o.tls as Exclude<TlsSetup, { mode: 'off' }>;
    out.push(
      ...block('server', [
        ...listenLines(o.listen, o.httpPort, ''),
        `server_name ${o.domain};`,
        'server_tokens off;',
        ...addHeaderLines(false, frameOptionsVar),
        '',
        '# certbot renews with --webroot here; everything else moves to HTTPS.',
        ...acme,
        ...block('location /', [`return 301 https://${o.domain}${https}$request_uri;`]),
      ]),
      '',
      ...block('server', [
        // nginx 1.25.1+ prefers a separate `http2 on;` and warns about this form, but accepts it.
        ...listenLines(o.listen, o.httpsPort, 'ssl http2'),
        `server_name ${o.domain};`,
        '',
        `ssl_certificate ${t.cert};`,
        `ssl_certificate_key ${t.key};`,
        '# TLS 1.2 and 1.3 with forward-secret AEAD ciphers only (Mozilla "intermediate", less DHE).',
        'ssl_protocols TLSv1.2 TLSv1.3;',
        'ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;',
        'ssl_prefer_server_ciphers off;',
        `ssl_session_cache shared:${upstreamName}_tls:10m;`,
        'ssl_session_timeout 1d;',
        'ssl_session_tickets off;',
        '',
        ...common,
      ]),
    );
  }
  return out.join('\n') + '\n';
}
