import { tensorToRgb, type TensorLike, type Range } from '../image/tensor.js';
import { TpdneError, ErrorCodes, describeError, isTpdneError } from '../errors.js';
import type { GeneratedImage, Generator } from './generator.js';

/** A user's generate function: called once per slot, returns a tensor-like image. */
export type GenerateFunction = (slot: number) => TensorLike | Promise<TensorLike>;

/**
 * Wraps a plain function as a Generator (runs on the calling thread: keep it quick or
 * make it async). Its output goes through the same tensor converter as a model's.
 */
export function createFunctionGenerator(
  generate: GenerateFunction,
  options: { range?: Range; name?: string; timeout?: number } = {},
): Generator {
  if (typeof generate !== 'function') {
    throw new TpdneError(ErrorCodes.INVALID_OPTION, `Expected a function for generate but received ${typeof generate}`);
  }
  let range: Range = options.range ?? 'auto';
  let nativeSize: { width: number; height: number } | null = null;
  let closed = false;
  return {
    name: options.name ?? (generate.name || 'function'),
    device: 'js',
    get nativeSize() {
      return nativeSize;
    },
    async generate(slot: number): Promise<GeneratedImage> {
      if (closed) throw new TpdneError(ErrorCodes.CLOSED, 'Generator is closed');
      const t0 = performance.now();
      let tensor: TensorLike;
      let timer: NodeJS.Timeout | undefined;
      try {
        const result = Promise.resolve().then(() => generate(slot));
        // A hung function cannot be cancelled; the slot is given up and the result, if it
        // ever comes, ignored.
        const timeout = new Promise<never>((_, reject) => {
          if (options.timeout === undefined) return;
          timer = setTimeout(
            () => reject(new TpdneError(ErrorCodes.MODEL_TIMEOUT, `generate() for slot ${slot} exceeded ${options.timeout} ms`)),
            options.timeout,
          );
        });
        tensor = await Promise.race([result, timeout]);
      } catch (err) {
        if (isTpdneError(err, ErrorCodes.MODEL_TIMEOUT)) throw err;
        throw new TpdneError(ErrorCodes.MODEL_RUN, `generate() threw for slot ${slot}: ${describeError(err)}`, { cause: err });
      } finally {
        clearTimeout(timer);
      }
      const t1 = performance.now();
      let rgb;
      try {
        rgb = tensorToRgb(tensor, { range });
      } catch (err) {
        if (isTpdneError(err)) throw err;
        throw new TpdneError(ErrorCodes.TENSOR_SHAPE, `generate() returned something that is not a tensor: ${describeError(err)}`);
      }
      if (range === 'auto') range = rgb.range;
      nativeSize = { width: rgb.width, height: rgb.height };
      return { rgb, timings: { latent: 0, inference: t1 - t0, convert: performance.now() - t1 } };
    },
    async close() {
      closed = true;
    },
  };
}
