import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOnnxModel } from '../../server/model/onnx-builder.js';
import { writeNpy } from '../../server/model/npy.js';

export interface TwoGraphOptions {
  /** Latent length. Default 8. */
  z?: number;
  /** How many w vectors the mapping makes, and how many the synthesis declares it takes. */
  numWs?: number;
  synthesisWs?: number;
  /** w length. Default 8. */
  wDim?: number;
  /** Image edge. Default 16. */
  size?: number;
  /** Declare the synthesis input's ws dimension symbolic, so only a run can find a mismatch. */
  symbolicWs?: boolean;
  /** Fixed batch of 1 instead of a dynamic one. */
  fixedBatch?: boolean;
  /** Replaces fields of the manifest (undefined deletes one). */
  manifest?: Record<string, unknown>;
}

function weights(count: number, seed: number, scale: number): Float32Array {
  return new Float32Array(count).map((_, i) => Math.sin((i + 1) * 12.9898 + seed * 78.233) * scale);
}

/**
 * A StyleGAN-shaped pair of tiny graphs built by our own code — mapping: z [N, 8] → ws
 * [N, numWs, 8]; synthesis: ws → img [N, 3, size, size] in [-1, 1] — with w_avg.npy and a
 * tpdne.json wiring them, truncation on mapping.ws. Returns the folder's manifest path.
 */
export function writeTwoGraphManifest(dir: string, options: TwoGraphOptions = {}): string {
  const z = options.z ?? 8;
  const numWs = options.numWs ?? 4;
  const synthesisWs = options.synthesisWs ?? numWs;
  const wDim = options.wDim ?? 8;
  const size = options.size ?? 16;
  const batch = options.fixedBatch ? 1 : 'batch';
  const pixels = 3 * size * size;
  const mapping = buildOnnxModel({
    name: 'mapping',
    nodes: [
      { op: 'MatMul', inputs: ['z', 'w1'], outputs: ['a'] },
      { op: 'Tanh', inputs: ['a'], outputs: ['t'] },
      { op: 'Reshape', inputs: ['t', 'ws_shape'], outputs: ['ws'] },
    ],
    initializers: [
      { name: 'w1', dims: [z, numWs * wDim], data: weights(z * numWs * wDim, 1, 0.9) },
      { name: 'ws_shape', dims: [3], data: BigInt64Array.of(-1n, BigInt(numWs), BigInt(wDim)) },
    ],
    inputs: [{ name: 'z', dims: [batch, z] }],
    outputs: [{ name: 'ws', dims: [batch, numWs, wDim] }],
  });
  const synthesis = buildOnnxModel({
    name: 'synthesis',
    nodes: [
      { op: 'Reshape', inputs: ['ws', 'flat_shape'], outputs: ['flat'] },
      { op: 'MatMul', inputs: ['flat', 'w2'], outputs: ['a'] },
      { op: 'Tanh', inputs: ['a'], outputs: ['t'] },
      { op: 'Reshape', inputs: ['t', 'img_shape'], outputs: ['img'] },
    ],
    initializers: [
      { name: 'flat_shape', dims: [2], data: BigInt64Array.of(-1n, BigInt(synthesisWs * wDim)) },
      { name: 'w2', dims: [synthesisWs * wDim, pixels], data: weights(synthesisWs * wDim * pixels, 2, 0.6) },
      { name: 'img_shape', dims: [4], data: BigInt64Array.of(-1n, 3n, BigInt(size), BigInt(size)) },
    ],
    inputs: [{ name: 'ws', dims: [batch, options.symbolicWs ? 'num_ws' : synthesisWs, wDim] }],
    outputs: [{ name: 'img', dims: [batch, 3, size, size] }],
  });
  writeFileSync(join(dir, 'mapping.onnx'), mapping);
  writeFileSync(join(dir, 'synthesis.onnx'), synthesis);
  writeFileSync(join(dir, 'w_avg.npy'), writeNpy({ shape: [wDim], data: weights(wDim, 3, 0.5) }));
  const manifest: Record<string, unknown> = {
    version: 1,
    name: 'two-graph',
    latent: { shape: [1, z], distribution: 'normal', truncation: { tensor: 'mapping.ws', average: 'w_avg.npy' } },
    graphs: [
      { name: 'mapping', file: 'mapping.onnx', inputs: { z: 'latent' } },
      { name: 'synthesis', file: 'synthesis.onnx', inputs: { ws: 'mapping.ws' } },
    ],
    output: { tensor: 'synthesis.img', range: '-1,1', layout: 'nchw' },
  };
  for (const [key, value] of Object.entries(options.manifest ?? {})) {
    if (value === undefined) delete manifest[key];
    else manifest[key] = value;
  }
  const path = join(dir, 'tpdne.json');
  writeFileSync(path, JSON.stringify(manifest, null, 2));
  return path;
}
