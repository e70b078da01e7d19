/**
 * Few-step text-to-image diffusion (stabilityai/sd-turbo and its kin) from a folder in the
 * Hugging Face Optimum ONNX layout (see diffusion-folder.ts).
 *
 * At load, every prompt is tokenised and run through the text encoder once; its embedding
 * is kept. Each slot then uses prompt `slot mod prompts` (so the prompt, like the latent,
 * is a pure function of the slot) and runs:
 *
 *     x = N(0, 1) latent of (seed, slot) [1, 4, H/8, W/8] · init_noise_sigma
 *     for each of --steps Euler steps: ε = unet(x / √(σ² + 1), t, embedding); x = step(ε)
 *     image = vae_decoder(x / scaling_factor), in [-1, 1]
 *
 * No classifier-free guidance: sd-turbo is distilled to run at guidance scale 0, i.e.
 * one UNet pass per step on the prompt alone (no unconditional pass).
 */
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { TpdneError, ErrorCodes, describeError } from '../errors.js';
import { loadClipTokenizer, quotePrompt } from './clip-tokenizer.js';
import { readDiffusionFolder } from './diffusion-folder.js';
import { createEulerSchedule, resolveEulerConfig } from './euler-scheduler.js';
import { describeInputs } from './single-graph.js';
import type { ImagePipeline, PipelineContext } from './pipeline.js';

/** Most slots stacked into one run when every graph has a dynamic batch dimension. */
export const DIFFUSION_MAX_BATCH = 4;
/** diffusers' default VAE scaling factor (Stable Diffusion 1.x/2.x, sd-turbo). */
export const DEFAULT_VAE_SCALING = 0.18215;

export interface DiffusionPipeline extends ImagePipeline {
  readonly prompts: readonly string[];
  /** The index into `prompts` a slot uses: `slot mod prompts.length`. */
  promptIndex(slot: number): number;
}

type Meta = ort.InferenceSession.ValueMetadata & { isTensor: true };

function inputMeta(session: ort.InferenceSession, name: string, graph: string, fallbackToOnly = false): Meta {
  const meta = session.inputMetadata.find((m) => m.name === name) ?? (fallbackToOnly && session.inputMetadata.length === 1 ? session.inputMetadata[0] : undefined);
  if (!meta || !meta.isTensor) {
    throw new TpdneError(ErrorCodes.MODEL_INPUT_SHAPE, `Expected an input '${name}' in ${graph} but it has ${describeInputs(session)}`);
  }
  return meta as Meta;
}

function expectType(meta: Meta, graph: string, types: readonly string[]): void {
  if (!types.includes(meta.type)) {
    const hint = meta.type === 'float16' ? ' (export in float32, optimum-cli\'s default)' : '';
    throw new TpdneError(ErrorCodes.MODEL_INPUT_SHAPE, `Expected ${types.join(' or ')} for input '${meta.name}' of ${graph} but received ${meta.type}${hint}`);
  }
}

const fixed = (d: number | string | undefined): d is number => typeof d === 'number' && d > 0;

function outputName(session: ort.InferenceSession, preferred: string): string {
  return session.outputNames.includes(preferred) ? preferred : session.outputNames[0]!;
}

/** Latent [C, h, w] of one slot: the UNet's fixed input dims, else unet/config.json. */
function latentGeometry(meta: Meta, config: Record<string, unknown>): [number, number, number] {
  const shape = meta.shape;
  const size = config.sample_size;
  const fromConfig = Array.isArray(size) ? size : [size, size];
  const channels = fixed(shape[1]) ? shape[1] : config.in_channels ?? 4;
  const h = fixed(shape[2]) ? shape[2] : fromConfig[0];
  const w = fixed(shape[3]) ? shape[3] : fromConfig[1];
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 1024;
  if (shape.length !== 4 || !ok(channels) || !ok(h) || !ok(w)) {
    throw new TpdneError(
      ErrorCodes.MODEL_INPUT_SHAPE,
      `Expected unet input 'sample' [N, C, h, w] with fixed h, w or unet/config.json sample_size but received [${shape.join(', ')}] and sample_size ${JSON.stringify(size)}`,
    );
  }
  return [channels, h, w];
}

/** A tensor of `count` copies of the timestep, in the dtype and rank the UNet declares. */
function timestepTensor(meta: Meta, t: number, count: number): ort.Tensor {
  const dims = meta.shape.length === 0 ? [] : [count];
  const n = meta.shape.length === 0 ? 1 : count;
  switch (meta.type) {
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(Math.trunc(t))), dims);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(n).fill(Math.trunc(t)), dims);
    case 'float64':
      return new ort.Tensor('float64', new Float64Array(n).fill(t), dims);
    default:
      return new ort.Tensor('float32', new Float32Array(n).fill(t), dims);
  }
}

function idsTensor(meta: Meta, ids: readonly number[]): ort.Tensor {
  return meta.type === 'int64'
    ? new ort.Tensor('int64', BigInt64Array.from(ids, (id) => BigInt(id)), [1, ids.length])
    : new ort.Tensor('int32', Int32Array.from(ids), [1, ids.length]);
}

/**
 * Builds the pipeline for the Optimum folder at `root` with `context.prompts` (at least
 * one) and `context.steps` Euler steps. Prompts that do not fit the tokenizer fail before
 * any graph is opened.
 */
export async function createDiffusionPipeline(root: string, context: PipelineContext): Promise<DiffusionPipeline> {
  const prompts = [...context.prompts];
  if (prompts.length === 0) {
    throw new TpdneError(ErrorCodes.INVALID_OPTION, `Expected at least one --prompt or --prompts <file> for the diffusion model ${root} but received none`);
  }
  const folder = await readDiffusionFolder(root);
  const schedule = createEulerSchedule(resolveEulerConfig(folder.schedulerConfig), context.steps);
  const tokenizer = await loadClipTokenizer(folder.tokenizerDir);
  const positions = folder.textEncoderConfig.max_position_embeddings;
  const lengths = [tokenizer.modelMaxLength, typeof positions === 'number' ? positions : null].filter((n): n is number => n !== null);
  let maxLength = lengths.length > 0 ? Math.min(...lengths) : 77;
  const tokenised = () => prompts.map((prompt) => tokenizer.encode(prompt, maxLength));
  let ids = tokenised();

  const sessions: ort.InferenceSession[] = [];
  let released = false;
  async function release(): Promise<void> {
    if (released) return;
    released = true;
    await Promise.allSettled(sessions.map((s) => s.release()));
  }
  const open = async (path: string) => {
    const session = await context.open(path);
    sessions.push(session);
    return session;
  };

  try {
    const text = await open(folder.textEncoder);
    const idsMeta = inputMeta(text, 'input_ids', 'text_encoder', true);
    expectType(idsMeta, 'text_encoder', ['int32', 'int64']);
    if (fixed(idsMeta.shape[1]) && idsMeta.shape[1] !== maxLength) {
      maxLength = idsMeta.shape[1];
      ids = tokenised();
    }
    const hiddenName = outputName(text, 'last_hidden_state');
    const embeddings: Float32Array[] = [];
    let hidden = 0;
    for (const [i, promptIds] of ids.entries()) {
      let result: ort.InferenceSession.OnnxValueMapType;
      try {
        result = await text.run({ [idsMeta.name]: idsTensor(idsMeta, promptIds) });
      } catch (err) {
        throw new TpdneError(ErrorCodes.MODEL_RUN, `text_encoder failed on prompt ${quotePrompt(prompts[i]!)}: ${describeError(err)}`);
      }
      const out = result[hiddenName] as ort.Tensor;
      if (out.type !== 'float32' || out.dims.length !== 3 || out.dims[1] !== maxLength) {
        throw new TpdneError(ErrorCodes.MODEL_OUTPUT_SHAPE, `Expected text_encoder output '${hiddenName}' float32 [1, ${maxLength}, D] but received ${out.type} [${out.dims.join(', ')}]`);
      }
      hidden = out.dims[2]!;
      embeddings.push(Float32Array.from(out.data as Float32Array));
    }
    // The text encoder is needed only at load: its memory goes back now.
    await text.release();
    sessions.splice(sessions.indexOf(text), 1);

    const unet = await open(folder.unet);
    const sampleMeta = inputMeta(unet, 'sample', 'unet');
    const timestepMeta = inputMeta(unet, 'timestep', 'unet');
    const contextMeta = inputMeta(unet, 'encoder_hidden_states', 'unet');
    const fed = new Set([sampleMeta.name, timestepMeta.name, contextMeta.name]);
    const extra = unet.inputNames.filter((name) => !fed.has(name));
    if (extra.length > 0) {
      throw new TpdneError(
        ErrorCodes.MODEL_INPUT_SHAPE,
        `Expected unet inputs sample, timestep and encoder_hidden_states only (an SD 1.x/2.x UNet, as sd-turbo's) but it also has ${extra.join(', ')}`,
      );
    }
    expectType(sampleMeta, 'unet', ['float32']);
    expectType(timestepMeta, 'unet', ['int64', 'int32', 'float32', 'float64']);
    expectType(contextMeta, 'unet', ['float32']);
    if (fixed(contextMeta.shape[2]) && contextMeta.shape[2] !== hidden) {
      throw new TpdneError(ErrorCodes.MODEL_INPUT_SHAPE, `Expected unet encoder_hidden_states of width ${hidden} (the text encoder's) but received [${contextMeta.shape.join(', ')}]`);
    }
    const [channels, h, w] = latentGeometry(sampleMeta, folder.unetConfig);
    const unetOut = outputName(unet, 'out_sample');

    const vae = await open(folder.vaeDecoder);
    const vaeIn = inputMeta(vae, 'latent_sample', 'vae_decoder', true);
    expectType(vaeIn, 'vae_decoder', ['float32']);
    const vaeOut = outputName(vae, 'sample');
    const scaling = typeof folder.vaeConfig.scaling_factor === 'number' ? folder.vaeConfig.scaling_factor : DEFAULT_VAE_SCALING;

    const dynamic = [sampleMeta, contextMeta, vaeIn].every((m) => !fixed(m.shape[0]));
    const maxBatch = dynamic ? DIFFUSION_MAX_BATCH : 1;
    const length = channels * h * w;
    const perPrompt = maxLength * hidden;
    const promptIndex = (slot: number): number => ((slot % prompts.length) + prompts.length) % prompts.length;
    const steps = schedule.timesteps.length;

    return {
      description: `${basename(folder.root)} (diffusion: text encoder + unet + vae decoder; euler, ${steps} step${steps > 1 ? 's' : ''}, ${prompts.length} prompt${prompts.length > 1 ? 's' : ''})`,
      info: { input: sampleMeta.name, latentDims: [1, channels, h, w], output: vaeOut },
      image: { range: '-1,1', layout: 'nchw' },
      maxBatch,
      prompts,
      promptIndex,
      async run(slots) {
        if (slots.length < 1 || slots.length > maxBatch) {
          throw new TpdneError(ErrorCodes.MODEL_RUN, `Expected 1 to ${maxBatch} slots per run but received ${slots.length}`);
        }
        const n = slots.length;
        const t0 = performance.now();
        let x: Float32Array = new Float32Array(n * length);
        const conditioning = new Float32Array(n * perPrompt);
        slots.forEach((slot, i) => {
          const noise = context.latent(slot, length, 'normal');
          for (let j = 0; j < length; j++) x[i * length + j] = noise[j]! * schedule.initNoiseSigma;
          conditioning.set(embeddings[promptIndex(slot)]!, i * perPrompt);
        });
        const t1 = performance.now();
        const where = `slot ${slots[0]}${n > 1 ? ` (+${n - 1})` : ''}`;
        try {
          const ehs = new ort.Tensor('float32', conditioning, [n, maxLength, hidden]);
          for (let i = 0; i < steps; i++) {
            const input = schedule.scaleModelInput(Float32Array.from(x), i);
            const result = await unet.run({
              [sampleMeta.name]: new ort.Tensor('float32', input, [n, channels, h, w]),
              [timestepMeta.name]: timestepTensor(timestepMeta, schedule.timesteps[i]!, n),
              [contextMeta.name]: ehs,
            });
            x = schedule.step((result[unetOut] as ort.Tensor).data as Float32Array, i, x);
          }
          for (let j = 0; j < x.length; j++) x[j] = x[j]! / scaling;
          const decoded = await vae.run({ [vaeIn.name]: new ort.Tensor('float32', x, [n, channels, h, w]) });
          return { tensor: decoded[vaeOut] as ort.Tensor, timings: { latent: t1 - t0, inference: performance.now() - t1 } };
        } catch (err) {
          throw new TpdneError(ErrorCodes.MODEL_RUN, `Diffusion run failed for ${where}: ${describeError(err)}`);
        }
      },
      release,
    };
  } catch (err) {
    await release();
    throw err;
  }
}
