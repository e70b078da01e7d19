import { createFunctionGenerator, type GenerateFunction } from './model/function-generator.js';
import { createEncoder } from './encode/encoder.js';
import { createFrameStore, type FrameStore } from './frames/store.js';
import { createDreamer, type DreamerStats } from './clock/dreamer.js';
import { createFileSink, type FileSinkStats } from './sinks/file-sink.js';
import { DEFAULT_SERVE_OPTIONS, choiceOption, integerOption, stringOption } from './options.js';
import type { Range } from './image/tensor.js';

export interface SampleOptions {
  /** Milliseconds between images. Default `250`. */
  interval?: number;
  /** Output edge in pixels. Default: the image's own size. */
  size?: number;
  /** Default `webp`. */
  format?: 'webp' | 'jpeg';
  /** Default `80`. */
  quality?: number;
  /** Value range of the returned tensors. Default `auto`. */
  range?: Range;
  /** Default: stderr. */
  log?: (line: string) => void;
}

export interface Sampler {
  /** The frames made so far (the latest one is what the file holds). */
  readonly store: FrameStore;
  stats(): DreamerStats & { out: FileSinkStats };
  /** Stops after the image in flight and the write in flight. Idempotent. */
  close(): Promise<void>;
}

/**
 * The original helper, kept: calls `generate(slot)` once per interval and saves each
 * image atomically to `<path>.<ext>` (e.g. `out/sampled.webp`) for nginx to serve.
 *
 * @example sampleImageAndSaveRepeatedly(() => ({ data, dims: [1, 3, 64, 64] }), 'out/sampled')
 */
export function sampleImageAndSaveRepeatedly(generate: GenerateFunction, path: string, options: SampleOptions = {}): Sampler {
  const out = stringOption('out', path, '');
  const interval = integerOption('interval', options.interval, DEFAULT_SERVE_OPTIONS.interval, 20, 3_600_000);
  const format = choiceOption('format', options.format, 'webp', ['webp', 'jpeg']);
  const quality = integerOption('quality', options.quality, DEFAULT_SERVE_OPTIONS.quality, 1, 100);
  const range = choiceOption('range', options.range, 'auto', ['auto', '-1,1', '0,1', '0,255']);
  const size = options.size === undefined ? null : integerOption('size', options.size, 512, 16, 4096);
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const generator = createFunctionGenerator(generate, { range });
  const store = createFrameStore(8);
  const encoder = createEncoder({ size, format, quality, effort: DEFAULT_SERVE_OPTIONS.effort, resize: 'auto' });
  const dreamer = createDreamer({ generator, encoder, store, interval, log });
  const sink = createFileSink({ path: out, store, log });
  dreamer.start();
  let closing: Promise<void> | null = null;
  return {
    store,
    stats: () => ({ ...dreamer.stats(), out: sink.stats() }),
    close() {
      closing ??= (async () => {
        await dreamer.close();
        await sink.close();
        await generator.close();
      })();
      return closing;
    },
  };
}
