/**
 * Opens onnxruntime sessions on one execution provider for the whole pipeline. The first
 * session decides it: `auto` tries CUDA, then falls back to CPU once (the caller logs the
 * reason in one line); every later graph opens on the provider the first one got.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { TpdneError, ErrorCodes, describeError } from '../errors.js';
import type { Device } from '../options.js';
import type { SessionFactory } from './pipeline.js';

export type Provider = 'cpu' | 'cuda' | 'webgpu';

export interface Sessions {
  /** Opens one graph; the first call chooses the provider. */
  readonly open: SessionFactory;
  /** The provider chosen (`cpu` until the first session is open). */
  readonly device: Provider;
  /** Set when `auto` wanted a GPU and fell back to CPU: why. */
  readonly fallback: string | null;
}

function createSession(model: string | Uint8Array, provider: Provider): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    // One core stays free for the event loop and the encoder: on a 2-core box that keeps
    // the stream's latency flat at little cost to inference (measured: ~60 vs ~55 ms).
    intraOpNumThreads: Math.max(1, availableParallelism() - 1),
    interOpNumThreads: 1,
    // Fatal only: a failed GPU provider is reported by us, in one line, not by ORT's logger.
    logSeverityLevel: 4,
    graphOptimizationLevel: 'all',
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

async function tryProvider(model: string | Uint8Array, provider: Provider): Promise<ort.InferenceSession> {
  try {
    return await createSession(model, provider);
  } catch (err) {
    if (provider === 'cpu') throw err;
    const why = describeError(err).replace(/^\w+AppendExecutionProvider_\w+: /, '');
    throw new TpdneError(
      ErrorCodes.DEVICE_UNAVAILABLE,
      `${provider.toUpperCase()} execution provider unavailable (${why}); see the README's GPU section`,
    );
  }
}

/**
 * The session factory of one worker. A graph that onnxruntime cannot load (not ONNX, an
 * unsupported op) throws ERR_MODEL_LOAD; a provider asked for by name that cannot start
 * throws ERR_DEVICE_UNAVAILABLE.
 */
export function createSessions(device: Device): Sessions {
  let chosen: Provider | null = device === 'auto' ? null : device;
  let fallback: string | null = null;

  async function openOn(model: string | Uint8Array): Promise<ort.InferenceSession> {
    if (chosen !== null) return tryProvider(model, chosen);
    try {
      const session = await tryProvider(model, 'cuda');
      chosen = 'cuda';
      return session;
    } catch (err) {
      const session = await tryProvider(model, 'cpu');
      chosen = 'cpu';
      fallback = describeError(err);
      return session;
    }
  }

  return {
    async open(model, label) {
      try {
        return await openOn(model);
      } catch (err) {
        if (err instanceof TpdneError) throw err;
        // Which file: the path, or the name of a model given as bytes.
        const what = label ?? (typeof model === 'string' ? model : null);
        throw new TpdneError(ErrorCodes.MODEL_LOAD, `Cannot load model${what === null ? '' : ` ${what}`}: ${describeError(err)}`);
      }
    },
    get device() {
      return chosen ?? 'cpu';
    },
    get fallback() {
      return fallback;
    },
  };
}
