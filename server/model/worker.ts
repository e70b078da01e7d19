/**
 * The model worker: owns the image pipeline (and so every onnxruntime session) of the
 * process. onnxruntime-node's run() blocks its thread for the whole inference, so it must
 * never run on the main thread, where it would stall every socket and request.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { walkLatentFor } from '../latent/walk.js';
import { imageGeometry, tensorToRgb, type Range, type TensorLike } from '../image/tensor.js';
import { TpdneError, ErrorCodes, describeError, type ErrorCode } from '../errors.js';
import { createSessions } from './session-factory.js';
import { loadPipeline } from './load-pipeline.js';
import { chooseBatch } from './batch-size.js';
import type { ImagePipeline, PipelineContext } from './pipeline.js';
import type { FromWorker, ModelInfo, ToWorker, WorkerConfig, WorkerImage } from './protocol.js';

const config = workerData as WorkerConfig;
// ORT's own logger would print a multi-line error for each provider that fails to load;
// we report the outcome ourselves, in one line.
ort.env.logLevel = 'fatal';
const port = parentPort!;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/** Throws ERR_MODEL_OUTPUT_SHAPE unless the pipeline's output reads as an image. */
function checkOutput(pipeline: ImagePipeline, tensor: ort.Tensor | undefined): void {
  const shape = tensor?.dims ?? [];
  try {
    if (!tensor || !['float32', 'float64', 'uint8'].includes(tensor.type)) {
      throw new TpdneError(ErrorCodes.TENSOR_SHAPE, `expected a float32 tensor, got ${tensor?.type ?? 'nothing'}`);
    }
    const { width, height, channels } = imageGeometry(shape, pipeline.image.layout);
    // The shape of a picture is not enough: a StyleGAN mapping network's w, [1, num_ws,
    // w_dim] ([1, 18, 512], or [1, 8, 32] for our tiny one), reads as a grey image. A grey
    // output without a batch axis that is also twice as wide as tall is taken for one.
    if (channels === 1 && shape.length < 4 && Math.max(width, height) >= 2 * Math.min(width, height)) {
      const hint = config.source.kind === 'file' && /\.onnx$/i.test(config.source.path)
        ? 'a StyleGAN mapping graph? Give --model the folder holding tpdne.json'
        : 'a StyleGAN mapping output? output.tensor should name the synthesis image';
      throw new TpdneError(ErrorCodes.TENSOR_SHAPE, `a grey ${width}×${height} output is more like a latent than a picture; ${hint}`);
    }
  } catch (err) {
    throw new TpdneError(
      ErrorCodes.MODEL_OUTPUT_SHAPE,
      `Model output '${pipeline.info.output}' of shape [${shape.join(', ')}] is not an image: ${describeError(err)}`,
    );
  }
}

async function main(): Promise<void> {
  const sessions = createSessions(config.device);
  const context: PipelineContext = {
    open: sessions.open,
    latent: (slot, length, distribution) => walkLatentFor(config.seed, slot, length, distribution ?? config.latent, config),
    truncation: config.truncation,
    prompts: config.prompts,
    steps: config.steps,
  };
  const pipeline = await loadPipeline(config.source, context);
  // `--range` wins over what the pipeline declares; `auto` is settled by the first frame.
  let range: Range = config.range !== 'auto' ? config.range : pipeline.image.range;

  /** One run for the slots; each image is converted (or fails) on its own. */
  async function run(slots: number[]): Promise<WorkerImage[]> {
    const { tensor, timings } = await pipeline.run(slots);
    checkOutput(pipeline, tensor);
    if (slots.length > 1 && (tensor.dims.length !== 4 || tensor.dims[0] !== slots.length)) {
      throw new TpdneError(ErrorCodes.MODEL_OUTPUT_SHAPE, `Model output of shape [${tensor.dims.join(', ')}] is not a batch of ${slots.length} images`);
    }
    // The run's time is shared by its slots, so per-frame timings stay comparable.
    const share = { latent: timings.latent / slots.length, inference: timings.inference / slots.length };
    return slots.map(function convert(_, index): WorkerImage {
      const t0 = performance.now();
      try {
        const rgb = tensorToRgb(tensor as unknown as TensorLike, { range, layout: pipeline.image.layout, index });
        // The range of the first good frame holds for the session: one frame that happens to
        // sit inside [0, 1] must not flip a tanh model's colours.
        if (range === 'auto') range = rgb.range;
        return { ok: true, data: rgb.data, width: rgb.width, height: rgb.height, range: rgb.range, timings: { ...share, convert: performance.now() - t0 } };
      } catch (err) {
        return { ok: false, code: err instanceof TpdneError ? err.code : ErrorCodes.MODEL_RUN, message: describeError(err) };
      }
    });
  }

  // One warm-up run checks the output shape before the server says it is ready. Its
  // values are not checked: a model that sometimes yields NaN still starts.
  let warm;
  try {
    warm = await pipeline.run([0]);
    checkOutput(pipeline, warm.tensor);
  } catch (err) {
    await pipeline.release();
    throw err;
  }
  let choice;
  try {
    choice = await chooseBatch(pipeline, config.batch, config.interval);
  } catch (err) {
    await pipeline.release();
    throw err;
  }
  const info: ModelInfo = {
    ...pipeline.info,
    latentDims: [...pipeline.info.latentDims],
    outputDims: [...warm.tensor.dims],
    description: pipeline.description,
    maxBatch: pipeline.maxBatch,
    batch: choice.batch,
    batchReason: choice.reason,
    device: sessions.device,
    fallback: sessions.fallback,
  };
  post({ type: 'ready', info });

  let inFlight = 0;
  let closing = false;
  // Ending the thread while onnxruntime is inside run() crashes the whole process
  // (its completion calls back into a dead environment), so the thread is never
  // terminated mid-run: it finishes, releases the sessions and ends by itself.
  async function finish(): Promise<void> {
    if (!closing || inFlight > 0) return;
    port.close();
    await pipeline.release();
  }

  port.on('message', async function onRequest(message: ToWorker) {
    if (message.type === 'close') {
      closing = true;
      return void finish();
    }
    if (closing) return;
    inFlight++;
    try {
      const images = await run(message.slots);
      const transfer = images.flatMap((image) => (image.ok ? [image.data.buffer as ArrayBuffer] : []));
      post({ type: 'images', id: message.id, images }, transfer);
    } catch (err) {
      const code: ErrorCode = err instanceof TpdneError ? err.code : ErrorCodes.MODEL_RUN;
      post({ type: 'error', id: message.id, code, message: describeError(err) });
    } finally {
      inFlight--;
      void finish();
    }
  });
}

main().catch(function onStartupError(err: unknown) {
  const code: ErrorCode = err instanceof TpdneError ? err.code : ErrorCodes.MODEL_LOAD;
  post({ type: 'error', id: null, code, message: describeError(err) });
});
