import { buildOnnxModel, type NodeSpec, type TensorSpec } from './onnx-builder.js';
import { mulberry32 } from '../latent/latent.js';

/** The built-in model's latent length. */
export const CPPN_LATENT = 32;
const HIDDEN = 24;
/** The weights are fixed, so every install dreams the same images for the same seed. */
const WEIGHT_SEED = 0x7d9e;

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function weights(random: () => number, rows: number, cols: number, scale: number): Float32Array {
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = gaussian(random) * scale;
  return w;
}

/**
 * Per-pixel coordinate features: x, y, radius and two rotated axes, in [-1, 1].
 * They are what the network paints with; the latent decides how.
 */
function coordinates(size: number): Float32Array {
  const features = 5;
  const c = new Float32Array(size * size * features);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x / (size - 1)) * 2 - 1;
      const v = (y / (size - 1)) * 2 - 1;
      const o = (y * size + x) * features;
      c[o] = u;
      c[o + 1] = v;
      c[o + 2] = Math.sqrt(u * u + v * v);
      c[o + 3] = (u + v) * Math.SQRT1_2;
      c[o + 4] = (u - v) * Math.SQRT1_2;
    }
  }
  return c;
}

/**
 * The built-in procedural dreamer: a compositional pattern-producing network (CPPN)
 * from pixel coordinates and a latent to colour, as an ONNX graph made here, so it runs
 * through exactly the same onnxruntime path as a user's model.
 *
 * Input `latent` [1, 32]; output `image` [1, size, size, 3] (NHWC) in [0, 1].
 * The latent sets per-unit phase, frequency and colour mixing, so every slot differs.
 */
export function buildCppnModel(size: number): Uint8Array {
  const random = mulberry32(WEIGHT_SEED);
  const pixels = size * size;
  const init: TensorSpec[] = [
    { name: 'coords', dims: [pixels, 5], data: coordinates(size) },
    { name: 'w_coord', dims: [5, HIDDEN], data: weights(random, 5, HIDDEN, 1.1) },
    { name: 'w_phase', dims: [CPPN_LATENT, HIDDEN], data: weights(random, CPPN_LATENT, HIDDEN, 0.6) },
    { name: 'w_freq', dims: [CPPN_LATENT, HIDDEN], data: weights(random, CPPN_LATENT, HIDDEN, 0.25) },
    { name: 'w_h2', dims: [HIDDEN, HIDDEN], data: weights(random, HIDDEN, HIDDEN, 0.7) },
    { name: 'w_z2', dims: [CPPN_LATENT, HIDDEN], data: weights(random, CPPN_LATENT, HIDDEN, 0.5) },
    { name: 'w_h3', dims: [HIDDEN, HIDDEN], data: weights(random, HIDDEN, HIDDEN, 0.45) },
    { name: 'w_z3', dims: [CPPN_LATENT, HIDDEN], data: weights(random, CPPN_LATENT, HIDDEN, 0.5) },
    { name: 'w_out', dims: [HIDDEN, 3], data: weights(random, HIDDEN, 3, 0.9) },
    { name: 'w_zout', dims: [CPPN_LATENT, 3], data: weights(random, CPPN_LATENT, 3, 0.4) },
    { name: 'one', dims: [1], data: Float32Array.of(1) },
    { name: 'half', dims: [1], data: Float32Array.of(0.5) },
    { name: 'out_shape', dims: [4], data: BigInt64Array.of(1n, BigInt(size), BigInt(size), 3n) },
  ];
  const nodes: NodeSpec[] = [
    // Layer 1: sin(coords·W · (1 + tanh(z·Wf)) + z·Wp): the latent sets frequencies and phases.
    { op: 'MatMul', inputs: ['coords', 'w_coord'], outputs: ['a1'] },
    { op: 'MatMul', inputs: ['latent', 'w_freq'], outputs: ['f1'] },
    { op: 'Tanh', inputs: ['f1'], outputs: ['f1t'] },
    { op: 'Add', inputs: ['f1t', 'one'], outputs: ['scale1'] },
    { op: 'Mul', inputs: ['a1', 'scale1'], outputs: ['a1s'] },
    { op: 'MatMul', inputs: ['latent', 'w_phase'], outputs: ['p1'] },
    { op: 'Add', inputs: ['a1s', 'p1'], outputs: ['s1'] },
    { op: 'Sin', inputs: ['s1'], outputs: ['h1'] },
    // Layer 2: tanh, shifted by the latent.
    { op: 'MatMul', inputs: ['h1', 'w_h2'], outputs: ['a2'] },
    { op: 'MatMul', inputs: ['latent', 'w_z2'], outputs: ['p2'] },
    { op: 'Add', inputs: ['a2', 'p2'], outputs: ['s2'] },
    { op: 'Tanh', inputs: ['s2'], outputs: ['h2'] },
    // Layer 3: sin again, for folds and bands.
    { op: 'MatMul', inputs: ['h2', 'w_h3'], outputs: ['a3'] },
    { op: 'MatMul', inputs: ['latent', 'w_z3'], outputs: ['p3'] },
    { op: 'Add', inputs: ['a3', 'p3'], outputs: ['s3'] },
    { op: 'Sin', inputs: ['s3'], outputs: ['h3'] },
    // Colour: 0.5 + 0.5·sin(h3·Wo + z·Wzo) keeps saturated hues over the whole range.
    { op: 'MatMul', inputs: ['h3', 'w_out'], outputs: ['a4'] },
    { op: 'MatMul', inputs: ['latent', 'w_zout'], outputs: ['p4'] },
    { op: 'Add', inputs: ['a4', 'p4'], outputs: ['s4'] },
    { op: 'Sin', inputs: ['s4'], outputs: ['c4'] },
    { op: 'Mul', inputs: ['c4', 'half'], outputs: ['c5'] },
    { op: 'Add', inputs: ['c5', 'half'], outputs: ['rgb'] },
    { op: 'Reshape', inputs: ['rgb', 'out_shape'], outputs: ['image'] },
  ];
  return buildOnnxModel({
    name: 'tpdne-cppn',
    nodes,
    initializers: init,
    inputs: [{ name: 'latent', dims: [1, CPPN_LATENT] }],
    outputs: [{ name: 'image', dims: [1, size, size, 3] }],
  });
}
