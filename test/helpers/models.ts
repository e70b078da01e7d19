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
  options: { latent?: number; outputDims: number[]; activation?: 'Tanh' | 'Sigmoid' | null; inputDims?: (number | string)[]; extraNodes?: NodeSpec[] },
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
      { name: 'flat_shape', dims: [2], data: BigInt64Array.of(1n, BigInt(latent)) },
      { name: 'out_shape', dims: [options.outputDims.length], data: BigInt64Array.from(options.outputDims.map(BigInt)) },
    ],
    inputs: [{ name: 'latent', dims: options.inputDims ?? [1, latent] }],
    outputs: [{ name: 'image', dims: options.outputDims }],
  });
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, bytes);
  return path;
}
