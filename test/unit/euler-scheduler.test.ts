import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createEulerSchedule, eulerTimesteps, resolveEulerConfig } from '../../server/model/euler-scheduler.js';
import { ErrorCodes, isTpdneError } from '../../server/errors.js';

/** stabilityai/sd-turbo's scheduler/scheduler_config.json. */
const SD_TURBO = {
  _class_name: 'EulerDiscreteScheduler',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  interpolation_type: 'linear',
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  timestep_spacing: 'trailing',
  trained_betas: null,
  use_karras_sigmas: false,
};

// Reference values: diffusers' formulas run in Python (torch float32 betas, numpy interp),
// see the header of server/model/euler-scheduler.ts. Relative tolerance 1e-5: the betas
// here are float64, diffusers' float32.
const REFERENCE = {
  trailing1: { timesteps: [999], sigmas: [14.614645004272461, 0] },
  trailing2: { timesteps: [999, 499], sigmas: [14.614645004272461, 1.6128870248794556, 0] },
  trailing4: { timesteps: [999, 749, 499, 249], sigmas: [14.614645004272461, 4.081730842590332, 1.6128870248794556, 0.6932054162025452, 0] },
  leading2: { timesteps: [501, 1], sigmas: [1.6236928701400757, 0.04131447896361351, 0], init: 1.9069290853473595 },
  linspace3: { timesteps: [999, 499.5, 0], sigmas: [14.614645004272461, 1.6155833005905151, 0.029167532920837402, 0] },
};

function close(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.join(', ')}`);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= 1e-5 * Math.max(1, Math.abs(e)), `${what}[${i}]: ${a} vs ${e}`);
  });
}

describe('Euler discrete scheduler', () => {
  it("matches diffusers for sd-turbo's config (trailing) at 1, 2 and 4 steps", () => {
    const config = resolveEulerConfig(SD_TURBO);
    for (const [steps, ref] of [[1, REFERENCE.trailing1], [2, REFERENCE.trailing2], [4, REFERENCE.trailing4]] as const) {
      const schedule = createEulerSchedule(config, steps);
      assert.deepEqual(schedule.timesteps, ref.timesteps);
      close(schedule.sigmas, ref.sigmas, `sigmas (${steps} steps)`);
      // trailing: the initial noise is σ_max, not √(σ_max² + 1).
      close([schedule.initNoiseSigma], [14.614645004272461], 'init_noise_sigma');
    }
  });

  it('spaces leading and linspace timesteps as diffusers does', () => {
    const leading = createEulerSchedule(resolveEulerConfig({ ...SD_TURBO, timestep_spacing: 'leading' }), 2);
    assert.deepEqual(leading.timesteps, REFERENCE.leading2.timesteps);
    close(leading.sigmas, REFERENCE.leading2.sigmas, 'leading sigmas');
    close([leading.initNoiseSigma], [REFERENCE.leading2.init], 'leading init_noise_sigma');
    const linspace = createEulerSchedule(resolveEulerConfig({ ...SD_TURBO, timestep_spacing: 'linspace' }), 3);
    assert.deepEqual(linspace.timesteps, REFERENCE.linspace3.timesteps);
    close(linspace.sigmas, REFERENCE.linspace3.sigmas, 'linspace sigmas');
    // numpy rounds half to even: arange(1000, 0, -1000/8) is exact, 1000/3 is not.
    assert.deepEqual(eulerTimesteps(resolveEulerConfig(SD_TURBO), 3), [999, 666, 332]);
  });

  it('builds linear betas too (σ at t = 999 and 499)', () => {
    const config = resolveEulerConfig({ ...SD_TURBO, beta_schedule: 'linear', beta_start: 0.0001, beta_end: 0.02 });
    close(createEulerSchedule(config, 2).sigmas, [157.40725708007812, 3.4241366386413574, 0], 'linear sigmas');
  });

  it('scales the model input by 1/√(σ² + 1) and takes the Euler step (epsilon and v_prediction)', () => {
    const eps = createEulerSchedule(resolveEulerConfig(SD_TURBO), 1);
    const sigma = eps.sigmas[0]!;
    const scaled = eps.scaleModelInput(Float32Array.of(1, -2), 0);
    close([...scaled], [0.06826491440201356, -0.13652982880402712], 'scaled');
    // By hand, one step to σ = 0: x' = x − σ·ε, the predicted clean sample.
    close([...eps.step(Float32Array.of(0.5), 0, Float32Array.of(1))], [1 - sigma * 0.5], 'epsilon step');
    close([...eps.step(Float32Array.of(0.5), 0, Float32Array.of(1))], [-6.307320594787598], 'epsilon step (reference)');
    const v = createEulerSchedule(resolveEulerConfig({ ...SD_TURBO, prediction_type: 'v_prediction' }), 1);
    close([...v.step(Float32Array.of(0.5), 0, Float32Array.of(1))], [-0.49417351637293194], 'v_prediction step');
    // Two steps: the first lands on σ₁, not on the clean sample.
    const two = createEulerSchedule(resolveEulerConfig(SD_TURBO), 2);
    const [s0, s1] = two.sigmas as [number, number];
    close([...two.step(Float32Array.of(0.25), 0, Float32Array.of(3))], [3 + 0.25 * (s1 - s0)], 'first of two steps');
  });

  it('refuses configs it does not implement, naming the field', () => {
    const table: [Record<string, unknown>, RegExp][] = [
      [{ ...SD_TURBO, _class_name: 'LCMScheduler' }, /_class_name EulerDiscreteScheduler .* received 'LCMScheduler'/],
      [{ ...SD_TURBO, use_karras_sigmas: true }, /use_karras_sigmas: false/],
      [{ ...SD_TURBO, prediction_type: 'sample' }, /prediction_type 'epsilon' or 'v_prediction' .* received 'sample'/],
      [{ ...SD_TURBO, timestep_spacing: 'karras' }, /timestep_spacing/],
      [{ ...SD_TURBO, beta_schedule: 'squaredcos_cap_v2' }, /beta_schedule/],
      [{ ...SD_TURBO, num_train_timesteps: 'many' }, /num_train_timesteps/],
      [{ ...SD_TURBO, trained_betas: [0.1, 0.2] }, /1000 betas in \(0, 1\) for trained_betas .* received '2 values'/],
      [{ ...SD_TURBO, rescale_betas_zero_snr: true }, /rescale_betas_zero_snr/],
    ];
    for (const [config, message] of table) {
      assert.throws(
        () => resolveEulerConfig(config),
        (err: unknown) => isTpdneError(err, ErrorCodes.MODEL_LOAD) && message.test(err.message) && !err.message.includes('\n'),
        JSON.stringify(config),
      );
    }
    assert.throws(() => createEulerSchedule(resolveEulerConfig(SD_TURBO), 0), (err: unknown) => isTpdneError(err, ErrorCodes.INVALID_OPTION));
  });
});
