import { statSync } from 'node:fs';
import { TpdneError, ErrorCodes } from './errors.js';
import type { TensorLike } from './image/tensor.js';
import { resolveDiffusionOptions, type DiffusionOptions } from './model/diffusion-options.js';
import { checkLatentOptions } from './model/latent-options.js';
import { MAX_BATCH } from './model/batch-limit.js';

export type LatentDistribution = 'normal' | 'uniform';
export type ImageFormat = 'webp' | 'jpeg';
export type Device = 'auto' | 'cpu' | 'cuda' | 'webgpu';
export type ValueRange = 'auto' | '-1,1' | '0,1' | '0,255';
export type ResizeKernel = 'auto' | 'nearest' | 'lanczos3';
/** `all` dreams and serves; `generator` dreams and publishes to Redis; `edge` serves what Redis carries. */
export type Role = 'all' | 'generator' | 'edge';
/** What serves HTTP and the stream: `ws` (Node), `uws` (uWebSockets.js), `auto` (uws when it loads). */
export type Transport = 'ws' | 'uws' | 'auto';
/** How slot latents follow each other: `jump` draws each afresh; `slerp` glides between keyframes. */
export type Walk = 'jump' | 'slerp';

/**
 * Everything `tpdne serve` (and {@link startTpdne}) accepts. All optional. With a
 * diffusion model folder: `prompt` (one or several, one per slot in rotation), `prompts`
 * (a file, one per line) and `steps` (1 to 4, default `1`); see diffusion-options.ts.
 */
export interface ServeOptions extends DiffusionOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one. Default `8080`. */
  port?: number | string;
  /**
   * An ONNX generator (`.onnx`), a model manifest (`.json`), a folder holding `tpdne.json`,
   * or a diffusion model folder (Optimum layout, `model_index.json`); undefined or
   * `builtin` runs the built-in CPPN.
   */
  model?: string;
  /** Milliseconds per slot (one new image per slot). Default `250`. */
  interval?: number | string;
  /** Output edge in pixels; small models are upscaled. Default `512`. */
  size?: number | string;
  /** Seed for the latents: the same seed gives the same image for the same slot. Default `1`. */
  seed?: number | string;
  /** Distribution the latents are drawn from. Default `normal`. */
  latent?: LatentDistribution | string;
  /** StyleGAN truncation ψ: `w = w_avg + ψ (w − w_avg)`, 0 (the average face) to 1.5; manifests with a truncation only. Default `0.7`. */
  truncation?: number | string;
  /** `jump`: every slot a fresh latent; `slerp`: great-circle arcs between keyframe latents. Default `jump`. */
  walk?: Walk | string;
  /** With `--walk slerp`, slots from one keyframe to the next. Default `16`. */
  keyframes?: number | string;
  /**
   * Upcoming slots made in one model run, for models with a dynamic batch dimension:
   * 1 to 8, or `auto` (measured at start: see server/model/batch-size.ts). Default `auto`.
   */
  batch?: number | 'auto' | string;
  /** Image format sent to viewers. Default `webp`. */
  format?: ImageFormat | string;
  /** Encoder quality, 1-100. Default `80`. */
  quality?: number | string;
  /** WebP encoder effort, 0 (fastest) to 6. Default `2` (measured: see BENCHMARKS.md). */
  effort?: number | string;
  /** Execution provider. `auto` tries the GPU and falls back to CPU. Default `auto`. */
  device?: Device | string;
  /** Also write each frame atomically to `<out>.<ext>` (for nginx). Default: off. */
  out?: string;
  /** Value range of the model output. Default `auto` (detected from the first frame). */
  range?: ValueRange | string;
  /** Resampling when the model output is not `size`. Default `auto` (nearest for 2x+ upscales). */
  resize?: ResizeKernel | string;
  /** Maximum concurrent stream viewers. Default `10000`. */
  maxViewers?: number | string;
  /** Bytes a viewer may have unsent before frames are skipped for it. Default `1048576`. */
  maxBufferedBytes?: number | string;
  /** Recent frames kept addressable under /frames/<slot>. Default `240`. */
  framesKept?: number | string;
  /** Milliseconds one model run may take before it is abandoned. Default `10000`. */
  modelTimeout?: number | string;
  /** Milliseconds between WebSocket pings; a viewer that misses one is dropped. Default `30000`. */
  heartbeat?: number | string;
  /** Most stream viewers from one IP address. Default `64`. */
  maxViewersPerIp?: number | string;
  /** Milliseconds a client may take to send its request headers (slowloris guard). Default `10000`. */
  headersTimeout?: number | string;
  /** What this process does: `all`, `generator` (dreams, publishes to --redis) or `edge` (serves frames from --redis). Default `all`. */
  role?: Role | string;
  /** Redis URL (`redis://[user:pass@]host[:port][/db]` or `rediss://`), required by the generator and edge roles. Default: none. */
  redis?: string;
  /** Prefix of the Redis keys and channel, so several sites can share one Redis. Default `tpdne`. */
  redisPrefix?: string;
  /**
   * Origins whose pages may use the stream and read the images (CORS): `*` for any, or a
   * comma list such as `https://a.example,https://b.example`. A WebSocket from another
   * origin gets 403 before the upgrade. Default `*`.
   */
  allowOrigin?: string | readonly string[];
  /**
   * Who may frame `/embed`: CSP `frame-ancestors` sources, comma- or space-separated
   * (`*`, `'self'`, `'none'`, `https://a.example`, `https://*.a.example`). Default `*`.
   */
  frameAncestors?: string | readonly string[];
  /** HTTP and stream transport: `ws`, `uws` (uWebSockets.js; fails at start if it cannot load) or `auto` (uws when it loads, else ws with one log line). Default `ws`. */
  transport?: Transport | string;
  /** Where log lines go. Default: stderr. Pass `() => {}` to silence. */
  log?: (line: string) => void;
  /**
   * API only: dream with this function instead of an ONNX model. Called once per slot on
   * the main thread (keep it quick, or make it async); returns a tensor-like image.
   */
  generate?: (slot: number) => TensorLike | Promise<TensorLike>;
}

export interface ResolvedServeOptions {
  readonly host: string;
  readonly port: number;
  readonly model: string | null;
  /** Prompts of a diffusion model (`--prompt`s, then `--prompts` lines); empty otherwise. */
  readonly prompts: readonly string[];
  /** Euler steps of a diffusion model. */
  readonly steps: number;
  readonly interval: number;
  readonly size: number;
  readonly seed: number;
  readonly latent: LatentDistribution;
  readonly truncation: number;
  readonly walk: Walk;
  readonly keyframes: number;
  readonly batch: number | 'auto';
  readonly format: ImageFormat;
  readonly quality: number;
  readonly effort: number;
  readonly device: Device;
  readonly out: string | null;
  readonly range: ValueRange;
  readonly resize: ResizeKernel;
  readonly maxViewers: number;
  readonly maxBufferedBytes: number;
  readonly framesKept: number;
  readonly modelTimeout: number;
  readonly heartbeat: number;
  readonly maxViewersPerIp: number;
  readonly headersTimeout: number;
  readonly role: Role;
  readonly redis: string | null;
  readonly redisPrefix: string;
  /** `['*']`, or normalised origins (`scheme://host[:port]`). */
  readonly allowOrigin: readonly string[];
  /** CSP frame-ancestors sources for `/embed`. */
  readonly frameAncestors: readonly string[];
  readonly transport: Transport;
  readonly log: (line: string) => void;
  readonly generate: ((slot: number) => TensorLike | Promise<TensorLike>) | null;
}

/** Defaults, one place. The CLI's --help is generated from these. */
export const DEFAULT_SERVE_OPTIONS = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  model: null,
  prompts: Object.freeze([]) as readonly string[],
  steps: 1,
  interval: 250,
  size: 512,
  seed: 1,
  latent: 'normal',
  truncation: 0.7,
  walk: 'jump',
  keyframes: 16,
  batch: 'auto',
  format: 'webp',
  quality: 80,
  effort: 2,
  device: 'auto',
  out: null,
  range: 'auto',
  resize: 'auto',
  maxViewers: 10000,
  maxBufferedBytes: 1 << 20,
  framesKept: 240,
  modelTimeout: 10000,
  heartbeat: 30000,
  maxViewersPerIp: 64,
  headersTimeout: 10000,
  role: 'all',
  redis: null,
  redisPrefix: 'tpdne',
  allowOrigin: Object.freeze(['*']),
  frameAncestors: Object.freeze(['*']),
  transport: 'ws',
} as const);

const flagName = (key: string): string => '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

function received(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  // A required option left out: say so, rather than the JavaScript word for it.
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeof value;
}

/** Throws the one message shape every option error uses. */
export function invalidOption(key: string, expected: string, value: unknown): never {
  throw new TpdneError(
    ErrorCodes.INVALID_OPTION,
    `Expected ${expected} for ${flagName(key)} but received ${received(value)}`,
  );
}

/** An integer option in [min, max]; numeric strings (from the CLI) are accepted. */
export function integerOption(key: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    invalidOption(key, `integer between ${min} and ${max}`, value);
  }
  return n;
}

/** A finite number in [min, max]; numeric strings (from the CLI) are accepted. */
export function numberOption(key: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\s*-?(\d+\.?\d*|\.\d+)\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    invalidOption(key, `number between ${min} and ${max}`, value);
  }
  return n;
}

/** `auto`, or an integer from 1 to 8 (the most any pipeline runs at once: MAX_BATCH). */
function batchOption(key: string, value: unknown): number | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_BATCH) invalidOption(key, `'auto' or an integer between 1 and ${MAX_BATCH}`, value);
  return n;
}

/** One of a fixed set of strings. */
export function choiceOption<T extends string>(key: string, value: unknown, fallback: T, choices: readonly T[]): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    invalidOption(key, `one of ${choices.join(', ')}`, value);
  }
  return value as T;
}

/** A non-empty string without control characters. */
export function stringOption(key: string, value: unknown, fallback: string): string;
export function stringOption(key: string, value: unknown, fallback: null): string | null;
export function stringOption(key: string, value: unknown, fallback: string | null): string | null {
  if (value === undefined) return fallback;
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length === 0 || /[\u0000-\u001f]/.test(value)) {
    invalidOption(key, 'a non-empty string', value);
  }
  return value;
}

/** A redis:// or rediss:// URL with a host; `required` names the role that needs it. */
export function redisUrlOption(key: string, value: unknown, role: Role): string | null {
  const expected = 'a redis:// or rediss:// URL';
  if (value === undefined) {
    if (role === 'all') return null;
    invalidOption(key, `${expected} (required with --role ${role})`, value);
  }
  const url = stringOption(key, value, null);
  let parsed: URL | null = null;
  try {
    parsed = new URL(url!);
  } catch {
    // reported below
  }
  if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') {
    invalidOption(key, expected, value);
  }
  if (role === 'all') invalidOption('role', 'generator or edge (with --redis)', role);
  return url;
}

const KNOWN_KEYS = new Set<string>([...Object.keys(DEFAULT_SERVE_OPTIONS), 'prompt', 'log', 'generate']);
/** Items of a list option given as one string (`a,b` from the CLI) or an array. */
function listItems(key: string, value: unknown, separator: RegExp, expected: string): string[] {
  const items = typeof value === 'string' ? value.split(separator) : Array.isArray(value) ? value : null;
  if (items === null || !items.every((item) => typeof item === 'string')) invalidOption(key, expected, value);
  const trimmed = (items as string[]).map((item) => item.trim()).filter((item) => item !== '');
  if (trimmed.length === 0) invalidOption(key, expected, value);
  return trimmed;
}

const ORIGIN_LIST = "'*' or a comma list of origins like https://example.com";

/**
 * `*`, or origins (`http(s)://host[:port]`, nothing after) normalised the way browsers
 * send them in the Origin header: lowercase host, default port dropped.
 */
export function originListOption(key: string, value: unknown, fallback: readonly string[]): readonly string[] {
  if (value === undefined) return fallback;
  const items = listItems(key, value, /,/, ORIGIN_LIST);
  if (items.length === 1 && items[0] === '*') return Object.freeze(['*']);
  const origins = items.map((item) => {
    let url: URL | null = null;
    try {
      url = new URL(item);
    } catch {
      // reported below
    }
    const bare =
      url !== null &&
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.pathname === '/' &&
      !/^[a-z]+:\/\/[^/?#]*[/?#]./i.test(item) &&
      !item.includes('@');
    if (!bare) invalidOption(key, ORIGIN_LIST, value);
    return url!.origin;
  });
  return Object.freeze([...new Set(origins)]);
}

const FRAME_SOURCES = "frame-ancestors sources like * 'self' 'none' https://example.com";
const HOST_SOURCE = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::(?:\d{1,5}|\*))?$/i;
const SCHEME_SOURCE = /^(?:https?|wss?):$/i;

/** CSP frame-ancestors sources; `self`/`none` may be written with or without quotes. */
export function frameAncestorsOption(key: string, value: unknown, fallback: readonly string[]): readonly string[] {
  if (value === undefined) return fallback;
  const items = listItems(key, value, /[\s,]+/, FRAME_SOURCES).map((item) => {
    const bare = item.replace(/^'(.*)'$/, '$1').toLowerCase();
    if (bare === 'self' || bare === 'none') return `'${bare}'`;
    if (item === '*' || SCHEME_SOURCE.test(item) || HOST_SOURCE.test(item)) return item;
    return invalidOption(key, FRAME_SOURCES, value);
  });
  // 'none' means nobody: it cannot be combined with other sources.
  if (items.includes("'none'") && items.length > 1) invalidOption(key, FRAME_SOURCES, value);
  return Object.freeze([...new Set(items)]);
}


const OUT_EXPECTED = 'a file path without extension, like out/sampled (it writes out/sampled.webp)';

/**
 * `--out`: the path the frames are written to, less the extension the format adds. An
 * extension given anyway, or an existing folder, would write somewhere the user did not
 * mean (`x.webp.webp`, or `out.webp` beside the folder): refused.
 */
export function outOption(value: unknown): string | null {
  const out = stringOption('out', value, null);
  if (out === null) return null;
  if (/[\\/]$/.test(out) || /\.(webp|jpe?g|png)$/i.test(out)) invalidOption('out', OUT_EXPECTED, value);
  let folder = false;
  try {
    folder = statSync(out).isDirectory();
  } catch {
    // not there yet: the sink creates it
  }
  if (folder) invalidOption('out', `${OUT_EXPECTED}, not a folder`, value);
  return out;
}

/** The options that shape or make frames, which an edge would silently ignore. */
const EDGE_IGNORES = ['size', 'seed', 'latent', 'truncation', 'walk', 'keyframes', 'batch', 'quality', 'effort', 'device', 'range', 'resize', 'modelTimeout'] as const;

/** Validates every option at once, synchronously, and fills in the defaults. */
export function resolveServeOptions(options: ServeOptions = {}): ResolvedServeOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) invalidOption(key, 'a known option', (options as Record<string, unknown>)[key]);
  }
  const d = DEFAULT_SERVE_OPTIONS;
  const host = stringOption('host', options.host, d.host);
  const model = options.model === 'builtin' ? null : stringOption('model', options.model, null);
  const { prompts, steps } = resolveDiffusionOptions(model, options);
  const interval = integerOption('interval', options.interval, d.interval, 20, 3_600_000);
  const role = choiceOption<Role>('role', options.role, d.role, ['all', 'generator', 'edge']);
  const redisPrefix = stringOption('redisPrefix', options.redisPrefix, d.redisPrefix);
  if (!/^[\w.:-]{1,64}$/.test(redisPrefix)) invalidOption('redisPrefix', 'letters, digits and _.:- (at most 64)', redisPrefix);
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  if (typeof log !== 'function') invalidOption('log', 'a function', log);
  const generate = options.generate ?? null;
  if (generate !== null && typeof generate !== 'function') invalidOption('generate', 'a function', generate);
  // An edge dreams nothing: a model given to it would be silently ignored.
  if (role === 'edge' && model !== null) invalidOption('model', 'no model with --role edge (an edge serves the frames Redis carries)', options.model);
  if (role === 'edge' && generate !== null) invalidOption('generate', 'no generate function with --role edge', 'a function');
  const latent = choiceOption('latent', options.latent, d.latent, ['normal', 'uniform']);
  const truncation = numberOption('truncation', options.truncation, d.truncation, 0, 1.5);
  const walk = choiceOption<Walk>('walk', options.walk, d.walk, ['jump', 'slerp']);
  const keyframes = integerOption('keyframes', options.keyframes, d.keyframes, 2, 1_000_000);
  if (role === 'edge') {
    // An edge makes no frames: what shapes them is the generator's to say.
    for (const key of EDGE_IGNORES) {
      if (options[key] !== undefined) invalidOption(key, 'nothing with --role edge (an edge serves the frames Redis carries)', options[key]);
    }
  } else if (generate === null) {
    checkLatentOptions(model, options, walk, options.walk !== undefined);
  }
  return Object.freeze({
    host,
    port: integerOption('port', options.port, d.port, 0, 65535),
    model,
    prompts,
    steps,
    interval,
    size: integerOption('size', options.size, d.size, 16, 4096),
    seed: integerOption('seed', options.seed, d.seed, 0, 0xffffffff),
    latent,
    truncation,
    walk,
    keyframes,
    batch: batchOption('batch', options.batch),
    format: choiceOption('format', options.format, d.format, ['webp', 'jpeg']),
    quality: integerOption('quality', options.quality, d.quality, 1, 100),
    effort: integerOption('effort', options.effort, d.effort, 0, 6),
    device: choiceOption('device', options.device, d.device, ['auto', 'cpu', 'cuda', 'webgpu']),
    out: outOption(options.out),
    range: choiceOption('range', options.range, d.range, ['auto', '-1,1', '0,1', '0,255']),
    resize: choiceOption('resize', options.resize, d.resize, ['auto', 'nearest', 'lanczos3']),
    maxViewers: integerOption('maxViewers', options.maxViewers, d.maxViewers, 1, 1_000_000),
    maxBufferedBytes: integerOption('maxBufferedBytes', options.maxBufferedBytes, d.maxBufferedBytes, 1024, 1 << 30),
    framesKept: integerOption('framesKept', options.framesKept, d.framesKept, 1, 100_000),
    modelTimeout: integerOption('modelTimeout', options.modelTimeout, d.modelTimeout, 100, 600_000),
    heartbeat: integerOption('heartbeat', options.heartbeat, d.heartbeat, 100, 3_600_000),
    maxViewersPerIp: integerOption('maxViewersPerIp', options.maxViewersPerIp, d.maxViewersPerIp, 1, 1_000_000),
    headersTimeout: integerOption('headersTimeout', options.headersTimeout, d.headersTimeout, 100, 600_000),
    role,
    redis: redisUrlOption('redis', options.redis, role),
    redisPrefix,
    allowOrigin: originListOption('allowOrigin', options.allowOrigin, d.allowOrigin),
    frameAncestors: frameAncestorsOption('frameAncestors', options.frameAncestors, d.frameAncestors),
    transport: choiceOption<Transport>('transport', options.transport, d.transport, ['ws', 'uws', 'auto']),
    log,
    generate,
  });
}
