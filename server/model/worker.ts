/**
 * The model worker: owns the one onnxruntime session of the process. onnxruntime-node's
 * run() blocks its thread for the whole inference, so it must never run on the main
 * thread, where it would stall every socket and request.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { buildCppnModel } from './cppn.js';
import { latentFor } from '../latent/latent.js';
import { imageGeometry, tensorToRgb, type TensorLike } from '../image/tensor.js';
import { TpdneError, ErrorCodes, describeError, type ErrorCode } from '../errors.js';
import type { FromWorker, ModelInfo, ToWorker, WorkerConfig } from './protocol.js';

const config = workerData as WorkerConfig;
// ORT's own logger would print a multi-line error for each provider that fails to load;
// we report the outcome ourselves, in one line.
ort.env.logLevel = 'fatal';
const port = parentPort!;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

type Provider = 'cpu' | 'cuda' | 'webgpu';

async function createSession(model: Uint8Array, provider: Provider): Promise<ort.InferenceSession> {
  // Fatal only: a failed GPU provider is reported by us, in one line, not by ORT's logger.
  return ort.InferenceSession.create(model, {
    executionProviders: [provider],
    // One core stays free for the event loop and the encoder: on a 2-core box that keeps
    // the stream's latency flat at little cost to inference (measured: ~60 vs ~55 ms).
    intraOpNumThreads: Math.max(1, availableParallelism() - 1),
    interOpNumThreads: 1,
    logSeverityLevel: 4,
    graphOptimizationLevel: 'all',
  });
}

async function openSession(model: Uint8Array): Promise<{ session: ort.InferenceSession; device: Provider; fallback: string | null }> {
  const tryProvider = async (provider: Provider): Promise<ort.InferenceSession> => {
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
  };
  if (config.device !== 'auto') {
    return { session: await tryProvider(config.device), device: config.device, fallback: null };
  }
  try {
    return { session: await tryProvider('cuda'), device: 'cuda', fallback: null };
  } catch (err) {
    return { session: await tryProvider('cpu'), device: 'cpu', fallback: describeError(err) };
  }
}

function latentShape(session: ort.InferenceSession): { input: string; dims: number[] } {
  const inputs = session.inputMetadata;
  const describe = inputs.map((m) => `${m.name}${m.isTensor ? `[${m.shape.join(', ')}]` : ''}`).join(', ');
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
  const fixed = (d: number | string | undefined): d is number => typeof d === 'number' && d > 0;
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
  return { input: meta.name, dims: shape.length === 2 ? [1, shape[1] as number] : [1, shape[1] as number, 1, 1] };
}

async function loadModel(): Promise<Uint8Array> {
  if (config.source.kind === 'builtin') return buildCppnModel(config.source.size);
  return readFile(config.source.path);
}

async function main(): Promise<void> {
  const bytes = await loadModel();
  let opened;
  try {
    opened = await openSession(bytes);
  } catch (err) {
    if (err instanceof TpdneError) throw err;
    throw new TpdneError(ErrorCodes.MODEL_LOAD, `Cannot load model: ${describeError(err)}`);
  }
  const { session, device, fallback } = opened;
  const { input, dims } = latentShape(session);
  const output = session.outputNames[0]!;
  const length = dims[1]!;
  let range = config.range;

  async function run(slot: number) {
    const t0 = performance.now();
    const latent = latentFor(config.seed, slot, length, config.latent);
    const t1 = performance.now();
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await session.run({ [input]: new ort.Tensor('float32', latent, dims) });
    } catch (err) {
      throw new TpdneError(ErrorCodes.MODEL_RUN, `Model run failed for slot ${slot}: ${describeError(err)}`);
    }
    const t2 = performance.now();
    const tensor = result[output] as ort.Tensor;
    checkOutput(tensor);
    const rgb = tensorToRgb(tensor as unknown as TensorLike, { range });
    // The range of the first good frame holds for the session: one frame that happens to
    // sit inside [0, 1] must not flip a tanh model's colours.
    if (range === 'auto') range = rgb.range;
    const t3 = performance.now();
    return { rgb, timings: { latent: t1 - t0, inference: t2 - t1, convert: t3 - t2 } };
  }

  function checkOutput(tensor: ort.Tensor | undefined): void {
    const shape = tensor?.dims ?? [];
    try {
      if (!tensor || !['float32', 'float64', 'uint8'].includes(tensor.type)) {
        throw new TpdneError(ErrorCodes.TENSOR_SHAPE, `expected a float32 tensor, got ${tensor?.type ?? 'nothing'}`);
      }
      imageGeometry(shape);
    } catch (err) {
      throw new TpdneError(
        ErrorCodes.MODEL_OUTPUT_SHAPE,
        `Model output '${output}' of shape [${shape.join(', ')}] is not an image: ${describeError(err)}`,
      );
    }
  }

  // One warm-up run checks the output shape before the server says it is ready. Its
  // values are not checked: a model that sometimes yields NaN still starts.
  const warm = await session.run({ [input]: new ort.Tensor('float32', latentFor(config.seed, 0, length, config.latent), dims) });
  checkOutput(warm[output] as ort.Tensor);
  const info: ModelInfo = { input, latentDims: dims, output, outputDims: [...(warm[output] as ort.Tensor).dims], device, fallback };
  post({ type: 'ready', info });

  let inFlight = 0;
  let closing = false;
  // Ending the thread while onnxruntime is inside run() crashes the whole process
  // (its completion calls back into a dead environment), so the thread is never
  // terminated mid-run: it finishes, releases the session and ends by itself.
  async function finish(): Promise<void> {
    if (!closing || inFlight > 0) return;
    port.close();
    await session.release().catch(() => {});
  }

  port.on('message', async function onRequest(message: ToWorker) {
    if (message.type === 'close') {
      closing = true;
      return void finish();
    }
    if (closing) return;
    inFlight++;
    try {
      const { rgb, timings } = await run(message.slot);
      post(
        { type: 'image', id: message.id, data: rgb.data, width: rgb.width, height: rgb.height, range: rgb.range, timings },
        [rgb.data.buffer as ArrayBuffer],
      );
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
