import { Worker } from 'node:worker_threads';
import { access, constants } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { TpdneError, ErrorCodes } from '../errors.js';
import type { ResolvedServeOptions } from '../options.js';
import type { GeneratedImage, Generator } from './generator.js';
import type { FromWorker, ModelInfo, ToWorker, WorkerConfig } from './protocol.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

type Pending = {
  resolve: (images: (GeneratedImage | TpdneError)[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
};

interface LiveWorker {
  worker: Worker;
  info: ModelInfo;
}

export type OnnxGeneratorOptions = Pick<
  ResolvedServeOptions,
  'model' | 'size' | 'device' | 'seed' | 'latent' | 'truncation' | 'walk' | 'keyframes' | 'batch' | 'interval' | 'range' | 'modelTimeout' | 'log' | 'prompts' | 'steps'
>;

export interface OnnxGenerator extends Generator {
  readonly info: ModelInfo;
}

/** Starts one worker and waits for it to report the model ready (or why it is not). */
function spawnWorker(config: WorkerConfig, onMessage: (m: FromWorker) => void): Promise<LiveWorker> {
  return new Promise(function waitForReady(resolve, reject) {
    const worker = new Worker(WORKER_URL, { workerData: config });
    let ready = false;
    worker.on('message', function onWorkerMessage(message: FromWorker) {
      if (ready) return onMessage(message);
      if (message.type === 'ready') {
        ready = true;
        resolve({ worker, info: message.info });
      } else if (message.type === 'error') {
        void worker.terminate();
        reject(new TpdneError(message.code, message.message));
      }
    });
    worker.on('error', function onWorkerError(err) {
      if (!ready) reject(new TpdneError(ErrorCodes.MODEL_LOAD, `Model worker failed: ${err.message}`));
    });
    worker.on('exit', function onWorkerExit(code) {
      if (!ready) reject(new TpdneError(ErrorCodes.MODEL_LOAD, `Model worker exited with code ${code} before it was ready`));
    });
  });
}

/**
 * Runs an ONNX generator (a file, or the built-in CPPN) in a worker thread. One session
 * per process. A run that exceeds `modelTimeout` is rejected and its worker replaced,
 * since a hung native call cannot be cancelled any other way.
 */
export async function createOnnxGenerator(options: OnnxGeneratorOptions): Promise<OnnxGenerator> {
  if (options.model !== null) {
    try {
      await access(options.model, constants.R_OK);
    } catch {
      throw new TpdneError(ErrorCodes.MODEL_NOT_FOUND, `Model file not found or unreadable: ${options.model}`);
    }
  }
  const config: WorkerConfig = {
    source: options.model === null ? { kind: 'builtin', size: options.size } : { kind: 'file', path: options.model },
    device: options.device,
    seed: options.seed,
    latent: options.latent,
    range: options.range,
    truncation: options.truncation,
    walk: options.walk,
    keyframes: options.keyframes,
    prompts: options.prompts,
    steps: options.steps,
    batch: options.batch,
    interval: options.interval,
  };
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;

  function onMessage(message: FromWorker): void {
    if (message.type === 'ready' || message.id === null) return;
    const entry = pending.get(message.id);
    if (!entry) return; // answered after a timeout: dropped
    pending.delete(message.id);
    clearTimeout(entry.timer);
    if (message.type === 'error') entry.reject(new TpdneError(message.code, message.message));
    else {
      entry.resolve(
        message.images.map((image) =>
          image.ok
            ? { rgb: { data: image.data, width: image.width, height: image.height, range: image.range }, timings: image.timings }
            : new TpdneError(image.code, image.message),
        ),
      );
    }
  }

  let live = await spawnWorker(config, onMessage);
  if (live.info.fallback) {
    options.log(`tpdne: --device auto: ${live.info.fallback}; running on CPU`);
  }
  if (live.info.batch > 1 || (options.batch !== 'auto' && live.info.batch < options.batch)) {
    options.log(`tpdne: ${live.info.batch} slot${live.info.batch === 1 ? '' : 's'} per model run (${live.info.batchReason})`);
  }
  let replacing: Promise<LiveWorker> | null = null;
  /** Workers told to close that have not ended yet (a hung run keeps one alive). */
  const retired = new Set<Worker>();

  /**
   * Asks a worker to end by itself once its run returns. terminate() is never used on a
   * worker inside onnxruntime's run(): that aborts the whole process.
   */
  function retire(worker: Worker): Promise<void> {
    retired.add(worker);
    const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    void ended.then(() => retired.delete(worker));
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    // A hung run must not keep the process alive at exit.
    worker.unref();
    return ended;
  }

  function watchExit(current: LiveWorker): void {
    current.worker.on('exit', function onUnexpectedExit() {
      if (closed || live !== current) return;
      for (const [id, entry] of pending) {
        clearTimeout(entry.timer);
        entry.reject(new TpdneError(ErrorCodes.MODEL_RUN, 'Model worker exited during a run'));
        pending.delete(id);
      }
      replace();
    });
  }

  function replace(): void {
    const old = live;
    void retire(old.worker);
    if (retired.size > 1) options.log(`tpdne: ${retired.size} model workers are still stuck in a run`);
    replacing = spawnWorker(config, onMessage);
    replacing.then(
      (fresh) => {
        replacing = null;
        if (closed) return void retire(fresh.worker);
        live = fresh;
        watchExit(fresh);
        options.log('tpdne: model worker replaced');
      },
      (err: Error) => {
        replacing = null;
        options.log(`tpdne: model worker could not be replaced: ${err.message}`);
      },
    );
  }
  watchExit(live);

  // A manifest called tpdne.json is named after its folder, like a folder model.
  const name =
    options.model === null
      ? 'builtin-cppn'
      : basename(options.model) === 'tpdne.json'
        ? basename(dirname(options.model))
        : basename(options.model);

  async function generateBatch(slots: readonly number[]): Promise<(GeneratedImage | TpdneError)[]> {
    if (closed) throw new TpdneError(ErrorCodes.CLOSED, 'Generator is closed');
    if (replacing) await replacing.catch(() => null);
    if (closed) throw new TpdneError(ErrorCodes.CLOSED, 'Generator is closed');
    const id = nextId++;
    const current = live;
    const which = slots.length === 1 ? `slot ${slots[0]}` : `slots ${slots[0]}-${slots.at(-1)}`;
    return new Promise(function run(resolve, reject) {
      const timer = setTimeout(function onModelTimeout() {
        pending.delete(id);
        reject(new TpdneError(ErrorCodes.MODEL_TIMEOUT, `Model run for ${which} exceeded ${options.modelTimeout} ms; worker replaced`));
        if (live === current && !closed) replace();
      }, options.modelTimeout);
      pending.set(id, { resolve, reject, timer });
      current.worker.postMessage({ type: 'generate', id, slots: [...slots] } satisfies ToWorker);
    });
  }

  return {
    name,
    get device() {
      return live.info.device;
    },
    get info() {
      return live.info;
    },
    get nativeSize() {
      const dims = live.info.outputDims;
      const channelsFirst = dims.length === 4 ? [1, 3, 4].includes(dims[1]!) : [1, 3, 4].includes(dims[0]!);
      const hw = dims.length === 4 ? dims.slice(channelsFirst ? 2 : 1) : dims.length === 3 ? dims.slice(channelsFirst ? 1 : 0) : dims;
      return { height: hw[0]!, width: hw[1]! };
    },
    get batch() {
      return live.info.batch;
    },
    async generate(slot: number): Promise<GeneratedImage> {
      const [image] = await generateBatch([slot]);
      if (image instanceof Error) throw image;
      return image!;
    },
    generateBatch,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const entry of pending.values()) {
        clearTimeout(entry.timer);
        entry.reject(new TpdneError(ErrorCodes.CLOSED, 'Generator closed'));
      }
      pending.clear();
      // A replacement still starting retires itself once ready (see replace()).
      const endings = retired.has(live.worker) ? [] : [retire(live.worker)];
      // Workers whose run has returned end at once; a hung one is left to end by itself
      // (unref'd, so it does not hold the process open).
      let deadline: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(endings), new Promise((r) => (deadline = setTimeout(r, 1500)))]);
      clearTimeout(deadline);
    },
  };
}
