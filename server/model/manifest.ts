/**
 * The model manifest (`tpdne.json`): a pipeline of ONNX graphs and the glue between them,
 * parsed and checked here, synchronously, before any file is opened. Files, .npy contents
 * and the shapes between graphs are checked by manifest-pipeline.ts. Every error is one
 * line with one shape: `Expected … for manifest field <path> but received …`.
 */
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { TpdneError, ErrorCodes } from '../errors.js';
import type { LatentDistribution } from '../options.js';
import type { Layout, Range } from '../image/tensor.js';

/** The one manifest format version this build reads. */
export const MANIFEST_VERSION = 1;

/** Where a graph input comes from. */
export type Source =
  | { kind: 'latent' }
  | { kind: 'constant'; name: string }
  | { kind: 'output'; graph: number; name: string };

export interface ManifestGraph {
  readonly name: string;
  /** Absolute path of the .onnx file. */
  readonly file: string;
  /** Graph input name → where its value comes from, in manifest order. */
  readonly inputs: ReadonlyMap<string, Source & { ref: string }>;
}

export interface Manifest {
  /** Absolute path of the manifest, for messages. */
  readonly path: string;
  readonly name: string;
  readonly latent: {
    /** Shape for one slot, batch first (the batch dimension is 1). */
    readonly shape: readonly number[];
    /** Undefined: `--latent` decides. */
    readonly distribution: LatentDistribution | undefined;
    /** StyleGAN truncation: `w = average + ψ (w − average)` on `tensor`, after its graph. */
    readonly truncation: { readonly tensor: Source & { kind: 'output'; ref: string }; readonly average: string } | null;
  };
  /** Constant name → absolute path of its .npy. */
  readonly constants: ReadonlyMap<string, string>;
  readonly graphs: readonly ManifestGraph[];
  readonly output: { readonly tensor: Source & { kind: 'output'; ref: string }; readonly range: Range; readonly layout: Layout };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined) return 'nothing';
  return typeof value;
}

/** Throws the one manifest error shape, code ERR_MANIFEST. */
export function manifestError(path: string, field: string, expected: string, received: string): never {
  throw new TpdneError(ErrorCodes.MANIFEST, `Expected ${expected} for manifest field ${field} but received ${received} (in ${path})`);
}

/** A field-checking cursor over one JSON object of the manifest. */
function objectAt(path: string, field: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) manifestError(path, field, 'an object', describe(value));
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      manifestError(path, field ? `${field}.${key}` : key, `one of the fields ${known.join(', ')}${field ? ` of ${field}` : ''}`, 'an unknown field');
    }
  }
  return value as Record<string, unknown>;
}

function stringAt(path: string, field: string, value: unknown, pattern?: RegExp, what = 'a non-empty string'): string {
  if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) manifestError(path, field, what, describe(value));
  return value;
}

function choiceAt<T extends string>(path: string, field: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    manifestError(path, field, `one of ${choices.join(', ')}`, describe(value));
  }
  return value as T;
}

const NAME = /^[A-Za-z_][\w-]*$/;
const RESERVED = new Set(['latent', 'constants']);

/**
 * Parses a manifest's JSON text. `path` is the manifest's own path: files are resolved
 * relative to its folder.
 */
export function parseManifest(text: string, path: string): Manifest {
  let json: unknown;
  try {
    // Editors on Windows may save a byte-order mark; JSON.parse refuses one.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    // V8 quotes the text around the fault, newlines and all: keep the message to one line.
    const why = (err as Error).message.replace(/\s+/g, ' ').slice(0, 120);
    manifestError(path, '(file)', 'JSON', `text that does not parse (${why})`);
  }
  const root = objectAt(path, '', json, ['version', 'name', 'latent', 'constants', 'graphs', 'output', 'scheduler']);
  if (root.version !== MANIFEST_VERSION) manifestError(path, 'version', String(MANIFEST_VERSION), describe(root.version));
  const name = root.name === undefined ? 'manifest' : stringAt(path, 'name', root.name);
  // Reserved for few-step diffusion (noise schedule, steps): no manifest pipeline uses it yet.
  if (root.scheduler !== undefined && root.scheduler !== null) {
    manifestError(path, 'scheduler', 'null (reserved for diffusion pipelines)', describe(root.scheduler));
  }
  const base = dirname(path);
  // A manifest names files of its own folder: a path out of it (`..`, absolute) would let
  // a downloaded manifest make the server read anything it can.
  const file = (field: string, value: unknown, ext: string): string => {
    const given = stringAt(path, field, value, new RegExp(`\\.${ext}$`, 'i'), `a path to a .${ext} file`);
    const inside = relative(base, resolve(base, given));
    if (isAbsolute(given) || inside.startsWith('..') || isAbsolute(inside)) {
      manifestError(path, field, `a path to a .${ext} file inside the manifest's folder`, describe(given));
    }
    return resolve(base, given);
  };

  const constants = new Map<string, string>();
  if (root.constants !== undefined) {
    const table = objectAt(path, 'constants', root.constants, Object.keys(root.constants ?? {}));
    for (const [key, value] of Object.entries(table)) {
      if (!NAME.test(key)) manifestError(path, `constants.${key}`, 'a name of letters, digits, _ and -', describe(key));
      constants.set(key, file(`constants.${key}`, value, 'npy'));
    }
  }

  if (!Array.isArray(root.graphs) || root.graphs.length === 0) manifestError(path, 'graphs', 'a non-empty array', describe(root.graphs));
  const graphNames: string[] = [];
  const reference = (field: string, value: unknown, before: number): Source & { ref: string } => {
    const ref = stringAt(path, field, value, /./, "'latent', 'constants.<name>' or '<graph>.<output>'");
    if (ref === 'latent') return { kind: 'latent', ref };
    const dot = ref.indexOf('.');
    const head = ref.slice(0, dot);
    const tail = ref.slice(dot + 1);
    if (dot > 0 && head === 'constants' && constants.has(tail)) return { kind: 'constant', name: tail, ref };
    const graph = graphNames.indexOf(head);
    if (dot > 0 && tail !== '' && graph >= 0 && graph < before) return { kind: 'output', graph, name: tail, ref };
    const known = ['latent', ...[...constants.keys()].map((c) => `constants.${c}`), ...graphNames.slice(0, before).map((g) => `${g}.<output>`)];
    return manifestError(path, field, `one of ${known.join(', ')}`, describe(ref));
  };

  const graphs: ManifestGraph[] = (root.graphs as unknown[]).map((entry, i) => {
    const field = `graphs[${i}]`;
    const g = objectAt(path, field, entry, ['name', 'file', 'inputs']);
    const graphName = stringAt(path, `${field}.name`, g.name, NAME, 'a name of letters, digits, _ and -');
    if (RESERVED.has(graphName) || graphNames.includes(graphName)) {
      manifestError(path, `${field}.name`, 'a unique name other than latent and constants', describe(graphName));
    }
    const inputsTable = objectAt(path, `${field}.inputs`, g.inputs, Object.keys((g.inputs as object) ?? {}));
    const inputs = new Map<string, Source & { ref: string }>();
    for (const [input, value] of Object.entries(inputsTable)) inputs.set(input, reference(`${field}.inputs.${input}`, value, i));
    graphNames.push(graphName);
    return { name: graphName, file: file(`${field}.file`, g.file, 'onnx'), inputs };
  });
  const outputRef = (field: string, value: unknown) => {
    const source = reference(field, value, graphs.length);
    if (source.kind !== 'output') manifestError(path, field, "a graph output ('<graph>.<output>')", describe(value));
    return source as Source & { kind: 'output'; ref: string };
  };

  const latent = objectAt(path, 'latent', root.latent, ['shape', 'distribution', 'truncation']);
  const shape = latent.shape;
  if (
    !Array.isArray(shape) ||
    shape.length < 2 ||
    shape[0] !== 1 ||
    !shape.every((d) => Number.isInteger(d) && d > 0 && d <= 1 << 20)
  ) {
    manifestError(path, 'latent.shape', 'an array of positive integers with the batch first, e.g. [1, 512]', describe(shape));
  }
  const distribution = latent.distribution === undefined ? undefined : choiceAt(path, 'latent.distribution', latent.distribution, ['normal', 'uniform'], 'normal');
  let truncation: Manifest['latent']['truncation'] = null;
  if (latent.truncation !== undefined && latent.truncation !== null) {
    const t = objectAt(path, 'latent.truncation', latent.truncation, ['tensor', 'average']);
    truncation = { tensor: outputRef('latent.truncation.tensor', t.tensor), average: file('latent.truncation.average', t.average, 'npy') };
  }

  const out = objectAt(path, 'output', root.output, ['tensor', 'range', 'layout']);
  const output = {
    tensor: outputRef('output.tensor', out.tensor),
    range: choiceAt<Range>(path, 'output.range', out.range, ['auto', '-1,1', '0,1', '0,255'], 'auto'),
    layout: choiceAt<Layout>(path, 'output.layout', out.layout, ['auto', 'nchw', 'nhwc'], 'auto'),
  };
  return { path, name, latent: { shape: shape as number[], distribution, truncation }, constants, graphs, output };
}
