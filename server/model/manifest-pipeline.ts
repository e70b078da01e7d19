/**
 * The manifest pipeline: several ONNX graphs and the glue between them, described by a
 * `tpdne.json` (manifest.ts). StyleGAN2/3 exports are mapping.onnx + synthesis.onnx, with
 * truncation applied here on w between them: `w = w_avg + ψ (w − w_avg)`.
 *
 * Everything a manifest names is checked at start, each failure one ERR_MANIFEST line
 * naming the field: files, .npy contents, every graph input fed (and nothing fed that is
 * not an input), types, the shapes between graphs from the graphs' metadata, and then the
 * actual shapes of a warm-up run.
 */
import { access, constants as fsConstants, readFile } from 'node:fs/promises';
import { relative, dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { TpdneError, ErrorCodes, describeError, isTpdneError } from '../errors.js';
import { parseManifest, manifestError, type Manifest, type ManifestGraph } from './manifest.js';
import { readNpy, NpyError, type NpyArray } from './npy.js';
import { MAX_BATCH } from './single-graph.js';
import type { ImagePipeline, PipelineContext } from './pipeline.js';

type Dims = readonly (number | string)[];
type Meta = ort.InferenceSession.ValueMetadata;

const fixed = (d: number | string | undefined): d is number => typeof d === 'number' && d > 0;
const show = (dims: Dims): string => `[${dims.join(', ')}]`;

/** Dims fit when the ranks agree and every dimension fixed on both sides is equal. */
function fits(expected: Dims, actual: Dims): boolean {
  if (expected.length === 0 || actual.length === 0) return true; // shape unknown to the graph
  return expected.length === actual.length && expected.every((d, i) => !fixed(d) || !fixed(actual[i]) || d === actual[i]);
}

interface OpenGraph {
  readonly spec: ManifestGraph;
  readonly index: number;
  readonly session: ort.InferenceSession;
  readonly inputs: ReadonlyMap<string, Meta & { isTensor: true }>;
}

/** The .npy of `field`, read strictly. */
async function loadNpy(manifest: Manifest, field: string, path: string): Promise<NpyArray> {
  const bytes = await readFile(path);
  try {
    return readNpy(bytes);
  } catch (err) {
    if (!(err instanceof NpyError)) throw err;
    return manifestError(
      manifest.path,
      field,
      'a float32, float64 or int64 little-endian C-order .npy',
      `'${relative(dirname(manifest.path), path)}' with ${err.message}`,
    );
  }
}

async function checkReadable(manifest: Manifest, field: string, path: string): Promise<void> {
  try {
    await access(path, fsConstants.R_OK);
  } catch {
    manifestError(manifest.path, field, 'a readable file', `'${relative(dirname(manifest.path), path)}', which does not exist or cannot be read`);
  }
}

async function openGraph(manifest: Manifest, index: number, context: PipelineContext): Promise<OpenGraph> {
  const spec = manifest.graphs[index]!;
  const field = `graphs[${index}]`;
  let session: ort.InferenceSession;
  try {
    session = await context.open(spec.file);
  } catch (err) {
    if (!isTpdneError(err, ErrorCodes.MODEL_LOAD)) throw err;
    return manifestError(manifest.path, `${field}.file`, 'an ONNX graph onnxruntime can load', `'${relative(dirname(manifest.path), spec.file)}' (${describeError(err).replace(/^Cannot load model: /, '')})`);
  }
  const inputs = new Map<string, Meta & { isTensor: true }>();
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) {
      await session.release().catch(() => {});
      manifestError(manifest.path, `${field}.inputs.${meta.name}`, 'a tensor input', 'a non-tensor input');
    }
    inputs.set(meta.name, meta);
  }
  return { spec, index, session, inputs };
}

/** Checks what can be checked without running: names, types and metadata shapes. */
function checkStatic(manifest: Manifest, graphs: readonly OpenGraph[], npys: ReadonlyMap<string, NpyArray>): void {
  const fail = (field: string, expected: string, received: string): never => manifestError(manifest.path, field, expected, received);
  const outputMeta = (graph: number, name: string, field: string): Meta => {
    const meta = graphs[graph]!.session.outputMetadata.find((m) => m.name === name);
    const names = graphs[graph]!.session.outputNames;
    if (!meta) fail(field, `an output of graph '${graphs[graph]!.spec.name}' (${names.join(', ')})`, `'${graphs[graph]!.spec.name}.${name}'`);
    return meta!;
  };
  for (const graph of graphs) {
    const field = `graphs[${graph.index}].inputs`;
    for (const name of graph.inputs.keys()) {
      if (!graph.spec.inputs.has(name)) fail(`${field}.${name}`, `a source for input '${name}' of graph '${graph.spec.name}'`, 'nothing');
    }
    for (const [name, source] of graph.spec.inputs) {
      const meta = graph.inputs.get(name);
      if (!meta) fail(`${field}.${name}`, `one of the inputs of graph '${graph.spec.name}' (${[...graph.inputs.keys()].join(', ')})`, `'${name}'`);
      let dims: Dims;
      let type: string;
      if (source.kind === 'latent') [dims, type] = [manifest.latent.shape, 'float32'];
      else if (source.kind === 'constant') {
        const npy = npys.get(source.name)!;
        // NumPy saves float64 by default: it is narrowed for a float32 input.
        [dims, type] = [npy.shape, npy.dtype === 'float64' && meta!.type === 'float32' ? 'float32' : npy.dtype];
      } else {
        const out = outputMeta(source.graph, source.name, `${field}.${name}`);
        [dims, type] = out.isTensor ? [out.shape, out.type] : [[], 'a non-tensor'];
      }
      if (type !== meta!.type) fail(`${field}.${name}`, `${meta!.type} (input '${name}' of graph '${graph.spec.name}')`, `${source.ref} of type ${type}`);
      if (!fits(meta!.shape, dims)) {
        fail(`${field}.${name}`, `shape ${show(meta!.shape)} (input '${name}' of graph '${graph.spec.name}')`, `${source.ref} of shape ${show(dims)}`);
      }
    }
  }
  outputMeta(manifest.output.tensor.graph, manifest.output.tensor.name, 'output.tensor');
  if (manifest.latent.truncation) outputMeta(manifest.latent.truncation.tensor.graph, manifest.latent.truncation.tensor.name, 'latent.truncation.tensor');
}

/** Repeats a batch-1 tensor `n` times along the batch dimension. */
function tile(tensor: ort.Tensor, n: number): ort.Tensor {
  if (n === 1) return tensor;
  const src = tensor.data as Float32Array | Float64Array | BigInt64Array;
  const out = new (src.constructor as Float32ArrayConstructor)(src.length * n) as unknown as typeof src;
  for (let i = 0; i < n; i++) out.set(src as never, i * src.length);
  return new ort.Tensor(tensor.type as 'float32', out as Float32Array, [n, ...tensor.dims.slice(1)]);
}

/** Reads, checks and opens the manifest at `path`, then proves it with one run. */
export async function createManifestPipeline(path: string, context: PipelineContext): Promise<ImagePipeline> {
  const manifest = parseManifest(await readFile(path, 'utf8'), path);
  for (const [name, file] of manifest.constants) await checkReadable(manifest, `constants.${name}`, file);
  if (manifest.latent.truncation) await checkReadable(manifest, 'latent.truncation.average', manifest.latent.truncation.average);
  for (const [i, graph] of manifest.graphs.entries()) await checkReadable(manifest, `graphs[${i}].file`, graph.file);
  const npys = new Map<string, NpyArray>();
  for (const [name, file] of manifest.constants) npys.set(name, await loadNpy(manifest, `constants.${name}`, file));
  let average: Float32Array | null = null;
  if (manifest.latent.truncation) {
    const npy = await loadNpy(manifest, 'latent.truncation.average', manifest.latent.truncation.average);
    if (npy.dtype === 'int64') manifestError(manifest.path, 'latent.truncation.average', 'a float32 or float64 .npy', 'an int64 one');
    average = Float32Array.from(npy.data as Float32Array);
    // A NaN here would pass every start-up check and then drop every frame.
    if (!average.every(Number.isFinite)) manifestError(manifest.path, 'latent.truncation.average', 'finite values', 'NaN or Infinity');
  }

  const graphs: OpenGraph[] = [];
  let released = false;
  async function release(): Promise<void> {
    if (released) return;
    released = true;
    await Promise.allSettled(graphs.map((g) => g.session.release()));
  }
  try {
    for (let i = 0; i < manifest.graphs.length; i++) graphs.push(await openGraph(manifest, i, context));
    checkStatic(manifest, graphs, npys);
  } catch (err) {
    await release();
    throw err;
  }

  // Constants as the tensors their inputs take (float64 narrowed for float32 inputs).
  const constantFor = (graph: OpenGraph, input: string, name: string): ort.Tensor => {
    const npy = npys.get(name)!;
    const type = graph.inputs.get(input)!.type;
    const data = npy.dtype === 'float64' && type === 'float32' ? Float32Array.from(npy.data as Float64Array) : npy.data;
    return new ort.Tensor(data instanceof Float32Array ? 'float32' : data instanceof Float64Array ? 'float64' : 'int64', data, [...npy.shape]);
  };
  const constantTensors = graphs.map((g) => {
    const map = new Map<string, ort.Tensor>();
    for (const [input, source] of g.spec.inputs) if (source.kind === 'constant') map.set(input, constantFor(g, input, source.name));
    return map;
  });
  // Slots batch only when every input of every graph has a dynamic batch dimension.
  const batchable = graphs.every((g) => [...g.inputs.values()].every((m) => m.shape.length > 0 && !fixed(m.shape[0])));
  const maxBatch = batchable ? MAX_BATCH : 1;
  const perSlot = manifest.latent.shape.reduce((a, b) => a * b, 1);
  const truncation = manifest.latent.truncation;
  const output = manifest.output;
  const psi = context.truncation;

  function truncate(tensor: ort.Tensor): ort.Tensor {
    const w = tensor.data as Float32Array;
    const avg = average!;
    if (tensor.type !== 'float32' || tensor.dims.at(-1) !== avg.length) {
      const file = relative(dirname(manifest.path), truncation!.average);
      manifestError(
        manifest.path,
        'latent.truncation.average',
        `float32 values as many as the last axis of ${truncation!.tensor.ref} (${tensor.type} ${show(tensor.dims)})`,
        `'${file}' with ${avg.length}`,
      );
    }
    if (psi === 1) return tensor;
    const out = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      const a = avg[i % avg.length]!;
      out[i] = a + psi * (w[i]! - a);
    }
    return new ort.Tensor('float32', out, [...tensor.dims]);
  }

  /** Runs every graph in order for `slots`; `check` turns shape mismatches into manifest errors. */
  async function runGraphs(slots: readonly number[], check: boolean) {
    const n = slots.length;
    const t0 = performance.now();
    const latents = new Float32Array(perSlot * n);
    slots.forEach((slot, i) => latents.set(context.latent(slot, perSlot, manifest.latent.distribution), i * perSlot));
    const latent = new ort.Tensor('float32', latents, [n, ...manifest.latent.shape.slice(1)]);
    const t1 = performance.now();
    const values = new Map<string, ort.Tensor>();
    for (const graph of graphs) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [input, source] of graph.spec.inputs) {
        let tensor: ort.Tensor;
        if (source.kind === 'latent') tensor = latent;
        else if (source.kind === 'output') tensor = values.get(source.ref)!;
        else {
          const constant = constantTensors[graph.index]!.get(input)!;
          tensor = n > 1 && constant.dims[0] === 1 ? tile(constant, n) : constant;
        }
        const meta = graph.inputs.get(input)!;
        if (check && !fits(meta.shape, tensor.dims)) {
          manifestError(manifest.path, `graphs[${graph.index}].inputs.${input}`, `shape ${show(meta.shape)} (input '${input}' of graph '${graph.spec.name}')`, `${source.ref} of shape ${show(tensor.dims)} in a warm-up run`);
        }
        feeds[input] = tensor;
      }
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await graph.session.run(feeds);
      } catch (err) {
        if (check) manifestError(manifest.path, `graphs[${graph.index}]`, `a graph that runs on its inputs`, `an error from onnxruntime: ${describeError(err)}`);
        throw new TpdneError(ErrorCodes.MODEL_RUN, `Model run failed for slot ${slots[0]} in graph '${graph.spec.name}': ${describeError(err)}`);
      }
      for (const [name, value] of Object.entries(result)) values.set(`${graph.spec.name}.${name}`, value as ort.Tensor);
      if (truncation && truncation.tensor.graph === graph.index) {
        values.set(truncation.tensor.ref, truncate(values.get(truncation.tensor.ref)!));
      }
    }
    const tensor = values.get(output.tensor.ref)!;
    if (check && tensor.dims[0] !== n && tensor.dims.length === 4) {
      manifestError(manifest.path, 'output.tensor', `a batch of ${n} images`, `${output.tensor.ref} of shape ${show(tensor.dims)}`);
    }
    return { tensor, timings: { latent: t1 - t0, inference: performance.now() - t1 } };
  }

  try {
    await runGraphs([0], true);
    if (maxBatch > 1) await runGraphs([0, 1], true);
  } catch (err) {
    await release();
    throw err;
  }

  const graphList = graphs.map((g) => g.spec.name).join(' + ');
  return {
    description: `${manifest.name} (${graphList})`,
    info: { input: [...graphs[0]!.spec.inputs].find(([, s]) => s.kind === 'latent')?.[0] ?? 'latent', latentDims: [...manifest.latent.shape], output: output.tensor.ref },
    image: { range: output.range, layout: output.layout },
    maxBatch,
    async run(slots) {
      if (slots.length < 1 || slots.length > maxBatch) {
        throw new TpdneError(ErrorCodes.MODEL_RUN, `Expected 1 to ${maxBatch} slots per run but received ${slots.length}`);
      }
      return runGraphs(slots, false);
    },
    release,
  };
}
