import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOnnxModel, type NodeSpec } from '../../server/model/onnx-builder.js';

/** A folder for one test's files. */
export function tempDir(prefix = 'tpdne-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A tiny generator: latent [1, D] → output of `outputDims` via MatMul + Reshape, so tests
 * can make models with any output shape (including unusable ones) from our own code.
 */
export function writeLinearModel(
  dir: string,
  name: string,
  options: {
    latent?: number;
    outputDims: number[];
    activation?: 'Tanh' | 'Sigmoid' | null;
    inputDims?: (number | string)[];
    extraNodes?: NodeSpec[];
    /** Reshape with -1 for the batch, so a dynamic batch really runs several latents. */
    batchable?: boolean;
  },
): string {
  const latent = options.latent ?? 8;
  const outCount = options.outputDims.reduce((a, b) => a * b, 1);
  const w = new Float32Array(latent * outCount);
  for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 12.9898) * 0.8;
  const nodes: NodeSpec[] = [
    { op: 'Reshape', inputs: ['latent', 'flat_shape'], outputs: ['z'] },
    { op: 'MatMul', inputs: ['z', 'w'], outputs: ['a'] },
  ];
  let last = 'a';
  if (options.activation !== null) {
    nodes.push({ op: options.activation ?? 'Tanh', inputs: ['a'], outputs: ['act'] });
    last = 'act';
  }
  nodes.push({ op: 'Reshape', inputs: [last, 'out_shape'], outputs: ['image'] });
  const bytes = buildOnnxModel({
    name,
    nodes,
    initializers: [
      { name: 'w', dims: [latent, outCount], data: w },
      { name: 'flat_shape', dims: [2], data: BigInt64Array.of(options.batchable ? -1n : 1n, BigInt(latent)) },
      {
        name: 'out_shape',
        dims: [options.outputDims.length],
        data: BigInt64Array.from(options.outputDims.map((d, i) => (options.batchable && i === 0 ? -1n : BigInt(d)))),
      },
    ],
    inputs: [{ name: 'latent', dims: options.inputDims ?? [1, latent] }],
    outputs: [{ name: 'image', dims: options.batchable ? ['batch', ...options.outputDims.slice(1)] : options.outputDims }],
  });
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, bytes);
  return path;
}

/**
 * A model that takes a while on purpose: `matmuls` chained 1024x1024 matrix products of an
 * outer product of the latent (nothing onnxruntime can fold away), added times zero to a
 * 16x16 RGB image. Each product is ~2 GFLOP.
 */
export function writeSlowModel(dir: string, matmuls: number): string {
  const latent = 4;
  const w = new Float32Array(latent * 1024).map((_, i) => Math.sin(i) * 0.05);
  const img = new Float32Array(latent * 3 * 16 * 16).map((_, i) => Math.cos(i) * 0.5);
  const nodes: NodeSpec[] = [
    { op: 'MatMul', inputs: ['latent', 'w'], outputs: ['row'] },
    { op: 'Transpose', inputs: ['row'], outputs: ['col'] },
    { op: 'Mul', inputs: ['col', 'row'], outputs: ['m0'] },
  ];
  let last = 'm0';
  for (let i = 1; i <= matmuls; i++) {
    nodes.push({ op: 'MatMul', inputs: [last, 'm0'], outputs: [`p${i}`] });
    nodes.push({ op: 'Tanh', inputs: [`p${i}`], outputs: [`m${i}`] });
    last = `m${i}`;
  }
  nodes.push(
    { op: 'ReduceMean', inputs: [last], outputs: ['mean'], attributes: { keepdims: 0 } },
    { op: 'Mul', inputs: ['mean', 'zero'], outputs: ['nothing'] },
    { op: 'MatMul', inputs: ['latent', 'img'], outputs: ['flat'] },
    { op: 'Tanh', inputs: ['flat'], outputs: ['flat_t'] },
    { op: 'Add', inputs: ['flat_t', 'nothing'], outputs: ['sum'] },
    { op: 'Reshape', inputs: ['sum', 'out_shape'], outputs: ['image'] },
  );
  const bytes = buildOnnxModel({
    name: 'slow',
    nodes,
    initializers: [
      { name: 'w', dims: [latent, 1024], data: w },
      { name: 'img', dims: [latent, 3 * 16 * 16], data: img },
      { name: 'zero', dims: [1], data: Float32Array.of(0) },
      { name: 'out_shape', dims: [4], data: BigInt64Array.of(1n, 3n, 16n, 16n) },
    ],
    inputs: [{ name: 'latent', dims: [1, latent] }],
    outputs: [{ name: 'image', dims: [1, 3, 16, 16] }],
  });
  const path = join(dir, `slow-${matmuls}.onnx`);
  writeFileSync(path, bytes);
  return path;
}
