/**
 * The single-graph pipeline: one ONNX generator with one float32 latent input ([N, D] or
 * [N, D, 1, 1]) and an image output — a user's `.onnx` file or the built-in CPPN.
 */
import * as ort from 'onnxruntime-node';
import { TpdneError, ErrorCodes, describeError } from '../errors.js';
import type { ImagePipeline, PipelineContext } from './pipeline.js';
import { MAX_BATCH } from './batch-limit.js';

/** Most slots stacked into one run of a graph whose batch dimension is dynamic. */
export { MAX_BATCH };

const fixed = (d: number | string | undefined): d is number => typeof d === 'number' && d > 0;

/** `name[1, 8]` for each input, for error messages. */
export function describeInputs(session: ort.InferenceSession): string {
  return session.inputMetadata.map((m) => `${m.name}${m.isTensor ? `[${m.shape.join(', ')}]` : ''}`).join(', ');
}

function latentShape(session: ort.InferenceSession): { input: string; dims: number[]; dynamicBatch: boolean } {
  const inputs = session.inputMetadata;
  const describe = describeInputs(session);
  if (inputs.length !== 1) {
    throw new TpdneError(
      ErrorCodes.MODEL_INPUT_SHAPE,
      `Expected a model with one latent input but it has ${inputs.length}: ${describe}`,
    );
  }
  const meta = inputs[0]!;
  if (!meta.isTensor || meta.type !== 'float32') {
    throw new TpdneError(ErrorCodes.MODEL_INPUT_SHAPE, `Expected a float32 latent input but received ${describe}`);
  }
  const shape = meta.shape;
  const batchOk = shape[0] === 1 || !fixed(shape[0]);
  const ok =
    batchOk &&
    fixed(shape[1]) &&
    (shape.length === 2 || (shape.length === 4 && shape[2] === 1 && shape[3] === 1));
  if (!ok) {
    throw new TpdneError(
      ErrorCodes.MODEL_INPUT_SHAPE,
      `Expected latent input of shape [N, D] or [N, D, 1, 1] but received ${describe}`,
    );
  }
  const dims = shape.length === 2 ? [1, shape[1] as number] : [1, shape[1] as number, 1, 1];
  return { input: meta.name, dims, dynamicBatch: !fixed(shape[0]) };
}

/**
 * Opens the graph and reads its latent input. Slots are stacked along the batch
 * dimension when it is dynamic (up to {@link MAX_BATCH}); a fixed batch of 1 runs one slot.
 */
export async function createSingleGraphPipeline(
  model: Uint8Array,
  name: string,
  context: PipelineContext,
): Promise<ImagePipeline> {
  const session = await context.open(model, name);
  let released = false;
  try {
    const { input, dims, dynamicBatch } = latentShape(session);
    const output = session.outputNames[0]!;
    const length = dims[1]!;
    const maxBatch = dynamicBatch ? MAX_BATCH : 1;
    return {
      description: `${name} (one graph)`,
      info: { input, latentDims: dims, output },
      image: { range: 'auto', layout: 'auto' },
      maxBatch,
      async run(slots) {
        if (slots.length < 1 || slots.length > maxBatch) {
          throw new TpdneError(ErrorCodes.MODEL_RUN, `Expected 1 to ${maxBatch} slots per run but received ${slots.length}`);
        }
        const t0 = performance.now();
        const latents = new Float32Array(length * slots.length);
        slots.forEach((slot, i) => latents.set(context.latent(slot, length), i * length));
        const t1 = performance.now();
        let result: ort.InferenceSession.OnnxValueMapType;
        try {
          result = await session.run({ [input]: new ort.Tensor('float32', latents, [slots.length, ...dims.slice(1)]) });
        } catch (err) {
          throw new TpdneError(ErrorCodes.MODEL_RUN, `Model run failed for slot ${slots[0]}: ${describeError(err)}`);
        }
        return { tensor: result[output] as ort.Tensor, timings: { latent: t1 - t0, inference: performance.now() - t1 } };
      },
      async release() {
        if (released) return;
        released = true;
        await session.release().catch(() => {});
      },
    };
  } catch (err) {
    await session.release().catch(() => {});
    throw err;
  }
}
