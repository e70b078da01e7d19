import { DEFAULT_SERVE_OPTIONS, type ServeOptions } from '../options.js';

export interface FlagSpec {
  /** The ServeOptions key it sets. */
  key: Exclude<keyof ServeOptions, 'log'>;
  /** What to put after the flag in --help, e.g. `<ms>`. */
  value: string;
  help: string;
  /** Repeatable (`--prompt a --prompt b`): the option gets an array. */
  multiple?: true;
}

/** Every `tpdne serve` flag, in --help order. Defaults come from DEFAULT_SERVE_OPTIONS. */
export const SERVE_FLAGS: readonly FlagSpec[] = [
  { key: 'host', value: '<addr>', help: 'interface to listen on (0.0.0.0 for all)' },
  { key: 'port', value: '<n>', help: 'HTTP and WebSocket port; 0 picks a free one' },
  { key: 'model', value: '<file.onnx|dir|file.json>', help: "ONNX generator with one latent input [N,D] or [N,D,1,1], a model manifest (a .json, or a folder with tpdne.json), or a diffusion folder (optimum-cli export onnx, with model_index.json); 'builtin' is the procedural CPPN" },
  { key: 'prompt', value: '<text>', help: 'with a diffusion model: a prompt; repeat for several, one per slot in rotation', multiple: true },
  { key: 'prompts', value: '<file>', help: 'with a diffusion model: a file of prompts, one per line (after any --prompt)' },
  { key: 'steps', value: '<1-4>', help: 'with a diffusion model: Euler denoising steps per image' },
  { key: 'interval', value: '<ms>', help: 'milliseconds per image (one slot)' },
  { key: 'size', value: '<px>', help: 'output edge in pixels; small models are upscaled' },
  { key: 'seed', value: '<n>', help: 'latent seed: same model + seed = same image for the same slot on every server' },
  { key: 'latent', value: 'normal|uniform', help: 'distribution of the latent vectors' },
  { key: 'truncation', value: '<psi>', help: 'StyleGAN truncation: w = w_avg + psi (w - w_avg), 0 (the average face) to 1.5; for manifests with a truncation' },
  { key: 'walk', value: 'jump|slerp', help: 'jump: a fresh latent every slot; slerp: glide along great circles between keyframe latents' },
  { key: 'keyframes', value: '<n>', help: 'with --walk slerp: slots from one keyframe to the next' },
  { key: 'batch', value: 'auto|<n>', help: 'upcoming slots made per model run (models with a dynamic batch); auto measures whether batching raises throughput' },
  { key: 'format', value: 'webp|jpeg', help: 'image format for pages, files and the stream' },
  { key: 'quality', value: '<1-100>', help: 'encoder quality' },
  { key: 'effort', value: '<0-6>', help: 'WebP encoder effort (higher = smaller files, slower)' },
  { key: 'device', value: 'auto|cpu|cuda|webgpu', help: 'execution provider; auto tries CUDA, then CPU' },
  { key: 'out', value: '<path>', help: 'also write each frame atomically to <path>.webp (e.g. out/sampled), and favicon.png beside it, for nginx' },
  { key: 'range', value: 'auto|-1,1|0,1|0,255', help: 'value range of the model output; auto detects it' },
  { key: 'resize', value: 'auto|nearest|lanczos3', help: 'upscaling kernel; auto = nearest for 2x and more (pixel art stays crisp)' },
  { key: 'maxViewers', value: '<n>', help: 'most concurrent stream viewers' },
  { key: 'maxBufferedBytes', value: '<bytes>', help: 'unsent bytes per viewer before frames are skipped for it' },
  { key: 'framesKept', value: '<n>', help: 'recent frames addressable at /frames/<slot>' },
  { key: 'modelTimeout', value: '<ms>', help: 'longest a model run may take before the worker is replaced' },
  { key: 'heartbeat', value: '<ms>', help: 'WebSocket ping interval; silent viewers are dropped' },
  { key: 'maxViewersPerIp', value: '<n>', help: 'most stream viewers from one IP address' },
  { key: 'headersTimeout', value: '<ms>', help: 'time a client has to send its request headers (slowloris guard)' },
  { key: 'role', value: 'all|generator|edge', help: 'all: dream and serve; generator: dream and publish to --redis; edge: serve the frames --redis carries (no model)' },
  { key: 'redis', value: '<url>', help: 'Redis between generators and edges, redis://[user:pass@]host[:port][/db] (required by generator and edge)' },
  { key: 'redisPrefix', value: '<name>', help: 'prefix of the Redis keys and channel (one per site sharing a Redis)' },
  { key: 'allowOrigin', value: '<origins>', help: "'*' or a comma list of origins whose pages may use the stream (others get 403) and images (CORS)" },
  { key: 'frameAncestors', value: '<sources>', help: "who may frame /embed: CSP frame-ancestors sources, e.g. 'self' or https://a.example" },
  { key: 'transport', value: 'ws|uws|auto', help: 'HTTP and stream server: ws (Node), uws (uWebSockets.js, must load), auto (uws if it loads, else ws)' },
];

export const flagOf = (key: string): string => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

export function serveHelp(): string {
  const defaults = DEFAULT_SERVE_OPTIONS as Record<string, unknown>;
  const rows = SERVE_FLAGS.map((f) => {
    const d = defaults[f.key];
    const none = d === null || d === undefined || (Array.isArray(d) && d.length === 0);
    const shown = none ? (f.key === 'model' ? 'builtin' : 'off') : String(d);
    return [`  --${flagOf(f.key)} ${f.value}`, `${f.help} (default: ${shown})`];
  });
  const width = Math.max(...rows.map((r) => r[0]!.length)) + 2;
  return [
    'Usage: tpdne serve [options]',
    '',
    'Dream one image per interval and show it to everyone: / (refresh page), /live (stream),',
    '/image.webp, /frames/<slot>.webp, /healthz, /embed.js and /embed (the widget), and WebSocket /stream.',
    '',
    'Options:',
    ...rows.map(([flag, help]) => flag!.padEnd(width) + help),
    '  -h, --help'.padEnd(width) + 'show this help',
    '',
  ].join('\n');
}
