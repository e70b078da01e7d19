/**
 * How many upcoming slots one model run makes (`--batch`). Batching only helps a model
 * that cannot keep up with the interval one slot at a time: a model that can already
 * makes every slot, and a batch would only make its frames older and its runs longer.
 *
 * The `auto` rule, measured at start-up in the worker after the warm-up run:
 * 1. a pipeline without a dynamic batch dimension runs one slot (maxBatch 1);
 * 2. one slot is timed (median of 3 runs); under half the interval → batch 1;
 * 3. otherwise batches of 2, 4, 8 (up to maxBatch) are timed (a first untimed run at each
 *    size lets onnxruntime plan it, and proves the graph really takes that batch),
 *    stopping once the time per slot stops improving or a batch does not run;
 * 4. the fastest per slot wins if it is at least 15% faster than one slot; else 1.
 */
import { describeError } from '../errors.js';
import type { ImagePipeline } from './pipeline.js';

/** Candidate sizes tried by `auto`. */
const CANDIDATES = [2, 4, 8];
/** A batch must be this much cheaper per slot than one slot to be worth its latency. */
const GAIN = 0.85;

export interface BatchChoice {
  batch: number;
  reason: string;
}

async function timeRun(pipeline: ImagePipeline, slots: number[]): Promise<number> {
  const t0 = performance.now();
  await pipeline.run(slots);
  return performance.now() - t0;
}

/**
 * Whether a batch of `size` really runs: a dynamic batch dimension on the input says
 * nothing of a Reshape to batch 1 inside the graph. Null when it does, else why not.
 */
async function batchFails(pipeline: ImagePipeline, size: number): Promise<string | null> {
  try {
    const { tensor } = await pipeline.run(range(size));
    return tensor.dims.length === 4 && tensor.dims[0] === size ? null : `its output for ${size} slots is [${tensor.dims.join(', ')}]`;
  } catch (err) {
    return describeError(err);
  }
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const ms = (x: number): string => x.toFixed(1);

/** Settles the batch size: `requested` (clamped to maxBatch) or measured by the rule above. */
export async function chooseBatch(pipeline: ImagePipeline, requested: number | 'auto', interval: number): Promise<BatchChoice> {
  const max = pipeline.maxBatch;
  if (requested !== 'auto') {
    const batch = Math.min(requested, max);
    if (batch < requested) return { batch, reason: `--batch ${requested}, but the model takes at most ${max} slot${max === 1 ? '' : 's'} per run` };
    const failure = batch > 1 ? await batchFails(pipeline, batch) : null;
    if (failure) return { batch: 1, reason: `--batch ${requested}, but a batch of ${batch} does not run: ${failure}` };
    return { batch, reason: `--batch ${requested}` };
  }
  if (max === 1) return { batch: 1, reason: 'the model has a fixed batch of 1' };
  const singles = [await timeRun(pipeline, [0]), await timeRun(pipeline, [0]), await timeRun(pipeline, [0])].sort((a, b) => a - b);
  const single = singles[1]!;
  if (single < interval / 2) return { batch: 1, reason: `one slot takes ${ms(single)} ms, well inside the ${interval} ms interval` };
  let best = { batch: 1, perSlot: single };
  for (const size of CANDIDATES.filter((k) => k <= max)) {
    if (await batchFails(pipeline, size)) break;
    const perSlot = (await timeRun(pipeline, range(size))) / size;
    if (perSlot < best.perSlot) best = { batch: size, perSlot };
    if (perSlot > best.perSlot * 0.9) break;
  }
  if (best.batch === 1 || best.perSlot > single * GAIN) {
    return { batch: 1, reason: `batches were not faster per slot than one slot (${ms(single)} ms)` };
  }
  return { batch: best.batch, reason: `measured ${ms(best.perSlot)} ms per slot at ${best.batch} vs ${ms(single)} ms at 1` };
}
