/**
 * diffusers' EulerDiscreteScheduler (what stabilityai/sd-turbo ships), for the few-step
 * text-to-image pipeline: the sigma schedule from `scheduler_config.json`, the model-input
 * scaling and the Euler update. Deterministic (no churn, no noise between steps), so an
 * image stays a pure function of its initial latent.
 *
 * Formulas (diffusers `scheduling_euler_discrete.py`):
 * - betas: `scaled_linear` = linspace(√beta_start, √beta_end, T)², `linear` = linspace(beta_start, beta_end, T);
 *   ᾱ = cumprod(1 − beta); σ(t) = √((1 − ᾱ_t) / ᾱ_t).
 * - timesteps for n steps: `trailing` round(arange(T, 0, −T/n)) − 1; `leading`
 *   arange(n)·⌊T/n⌋ reversed + steps_offset; `linspace` linspace(0, T − 1, n) reversed.
 *   σ at each timestep by linear interpolation, then a final σ = 0.
 * - init_noise_sigma: σ_max for `linspace`/`trailing`, √(σ_max² + 1) otherwise.
 * - scale_model_input: x / √(σ² + 1).
 * - step: x0 = x − σ·ε (epsilon) or ε·(−σ/√(σ²+1)) + x/(σ²+1) (v_prediction);
 *   x' = x + (x − x0)/σ · (σ_next − σ).
 */
import { TpdneError, ErrorCodes } from '../errors.js';

export type PredictionType = 'epsilon' | 'v_prediction';
export type TimestepSpacing = 'trailing' | 'leading' | 'linspace';

/** The fields of `scheduler_config.json` the Euler scheduler reads, after validation. */
export interface EulerConfig {
  readonly numTrainTimesteps: number;
  /** One beta per training timestep. */
  readonly betas: Float64Array;
  readonly predictionType: PredictionType;
  readonly timestepSpacing: TimestepSpacing;
  readonly stepsOffset: number;
}

export interface EulerSchedule {
  /** The model's timestep for each step, highest first (e.g. [999] for one trailing step). */
  readonly timesteps: readonly number[];
  /** σ for each step, then the final 0: one longer than `timesteps`. */
  readonly sigmas: readonly number[];
  /** What the initial N(0, 1) latent is multiplied by. */
  readonly initNoiseSigma: number;
  /** Scales `sample` in place for step `index` (scale_model_input). */
  scaleModelInput(sample: Float32Array, index: number): Float32Array;
  /** The sample after step `index`, given the model's prediction for it (a new array). */
  step(modelOutput: Float32Array, index: number, sample: Float32Array): Float32Array;
}

const SUPPORTED = 'EulerDiscreteScheduler';

function bad(what: string, value: unknown): never {
  const shown = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  throw new TpdneError(ErrorCodes.MODEL_LOAD, `Expected ${what} in scheduler/scheduler_config.json but received ${shown}`);
}

function numberField(config: Record<string, unknown>, key: string, fallback: number, min: number, max: number): number {
  const value = config[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    bad(`a number between ${min} and ${max} for ${key}`, value);
  }
  return value;
}

function linspace(start: number, end: number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = count === 1 ? start : start + ((end - start) * i) / (count - 1);
  return out;
}

/**
 * Validates a parsed `scheduler_config.json`. Options the Euler update here does not
 * implement (Karras sigmas, zero-SNR rescaling, continuous timesteps, another scheduler
 * class) are refused with the field named, rather than ignored.
 */
export function resolveEulerConfig(json: unknown): EulerConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('a JSON object', typeof json);
  const config = json as Record<string, unknown>;
  const className = config._class_name ?? SUPPORTED;
  if (className !== SUPPORTED) bad(`_class_name ${SUPPORTED} (the scheduler sd-turbo uses)`, className);
  for (const [key, off] of [
    ['use_karras_sigmas', false],
    ['use_exponential_sigmas', false],
    ['use_beta_sigmas', false],
    ['rescale_betas_zero_snr', false],
  ] as const) {
    if ((config[key] ?? off) !== off) bad(`${key}: ${off}`, config[key]);
  }
  for (const [key, value] of [
    ['interpolation_type', 'linear'],
    ['timestep_type', 'discrete'],
    ['final_sigmas_type', 'zero'],
  ] as const) {
    if ((config[key] ?? value) !== value) bad(`${key} '${value}'`, config[key]);
  }
  const numTrainTimesteps = numberField(config, 'num_train_timesteps', 1000, 2, 100_000);
  if (!Number.isInteger(numTrainTimesteps)) bad('an integer for num_train_timesteps', numTrainTimesteps);
  let betas: Float64Array;
  const trained = config.trained_betas;
  if (Array.isArray(trained)) {
    if (trained.length !== numTrainTimesteps || !trained.every((b) => typeof b === 'number' && b > 0 && b < 1)) {
      bad(`${numTrainTimesteps} betas in (0, 1) for trained_betas`, `${trained.length} values`);
    }
    betas = Float64Array.from(trained as number[]);
  } else {
    const start = numberField(config, 'beta_start', 0.0001, 0, 1);
    const end = numberField(config, 'beta_end', 0.02, 0, 1);
    const schedule = config.beta_schedule ?? 'linear';
    if (schedule === 'linear') betas = linspace(start, end, numTrainTimesteps);
    else if (schedule === 'scaled_linear') betas = linspace(Math.sqrt(start), Math.sqrt(end), numTrainTimesteps).map((b) => b * b);
    else bad("beta_schedule 'linear' or 'scaled_linear'", schedule);
  }
  const predictionType = config.prediction_type ?? 'epsilon';
  if (predictionType !== 'epsilon' && predictionType !== 'v_prediction') bad("prediction_type 'epsilon' or 'v_prediction'", predictionType);
  const timestepSpacing = config.timestep_spacing ?? 'linspace';
  if (timestepSpacing !== 'trailing' && timestepSpacing !== 'leading' && timestepSpacing !== 'linspace') {
    bad("timestep_spacing 'trailing', 'leading' or 'linspace'", timestepSpacing);
  }
  const stepsOffset = numberField(config, 'steps_offset', 0, 0, numTrainTimesteps - 1);
  return Object.freeze({ numTrainTimesteps, betas, predictionType, timestepSpacing, stepsOffset });
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The timesteps diffusers' set_timesteps picks for `steps` inference steps. */
export function eulerTimesteps(config: EulerConfig, steps: number): number[] {
  const T = config.numTrainTimesteps;
  const out: number[] = [];
  if (config.timestepSpacing === 'trailing') {
    // numpy: arange(T, 0, -T/n) is T - i·(T/n); round() is half-to-even.
    for (let i = 0; T - (i * T) / steps > 0; i++) out.push(roundHalfEven(T - (i * T) / steps) - 1);
  } else if (config.timestepSpacing === 'leading') {
    const ratio = Math.floor(T / steps);
    for (let i = steps - 1; i >= 0; i--) out.push(i * ratio + config.stepsOffset);
  } else {
    for (let i = steps - 1; i >= 0; i--) out.push(steps === 1 ? 0 : ((T - 1) * i) / (steps - 1));
  }
  return out;
}

/** The schedule for `steps` inference steps (1 or more, at most num_train_timesteps). */
export function createEulerSchedule(config: EulerConfig, steps: number): EulerSchedule {
  if (!Number.isInteger(steps) || steps < 1 || steps > config.numTrainTimesteps) {
    throw new TpdneError(ErrorCodes.INVALID_OPTION, `Expected integer between 1 and ${config.numTrainTimesteps} for --steps but received ${steps}`);
  }
  // σ over the training timesteps.
  const full = new Float64Array(config.numTrainTimesteps);
  let cumprod = 1;
  for (let t = 0; t < full.length; t++) {
    cumprod *= 1 - config.betas[t]!;
    full[t] = Math.sqrt((1 - cumprod) / cumprod);
  }
  const timesteps = eulerTimesteps(config, steps);
  const at = (t: number): number => {
    const lo = Math.max(0, Math.min(full.length - 1, Math.floor(t)));
    const hi = Math.min(full.length - 1, lo + 1);
    return full[lo]! + (full[hi]! - full[lo]!) * (t - lo);
  };
  // Stored as float32, as diffusers keeps them.
  const sigmas = [...timesteps.map((t) => Math.fround(at(t))), 0];
  const max = Math.max(...sigmas);
  const initNoiseSigma = config.timestepSpacing === 'leading' ? Math.sqrt(max * max + 1) : max;
  const { predictionType } = config;

  return {
    timesteps,
    sigmas,
    initNoiseSigma,
    scaleModelInput(sample, index) {
      const sigma = sigmas[index]!;
      const scale = 1 / Math.sqrt(sigma * sigma + 1);
      for (let i = 0; i < sample.length; i++) sample[i] = sample[i]! * scale;
      return sample;
    },
    step(modelOutput, index, sample) {
      const sigma = sigmas[index]!;
      const dt = sigmas[index + 1]! - sigma;
      const out = new Float32Array(sample.length);
      const vScale = -sigma / Math.sqrt(sigma * sigma + 1);
      const xScale = 1 / (sigma * sigma + 1);
      for (let i = 0; i < sample.length; i++) {
        const x = sample[i]!;
        const e = modelOutput[i]!;
        const x0 = predictionType === 'epsilon' ? x - sigma * e : e * vScale + x * xScale;
        out[i] = x + ((x - x0) / sigma) * dt;
      }
      return out;
    },
  };
}
