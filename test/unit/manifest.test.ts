import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest } from '../../server/model/manifest.js';
import { ErrorCodes, isTpdneError } from '../../server/errors.js';

const PATH = '/models/face/tpdne.json';
const good = () => ({
  version: 1,
  name: 'face',
  latent: { shape: [1, 512], distribution: 'normal', truncation: { tensor: 'mapping.ws', average: 'w_avg.npy' } },
  constants: { c: 'c.npy' },
  graphs: [
    { name: 'mapping', file: 'mapping.onnx', inputs: { z: 'latent', c: 'constants.c' } },
    { name: 'synthesis', file: 'synthesis.onnx', inputs: { ws: 'mapping.ws' } },
  ],
  output: { tensor: 'synthesis.img', range: '-1,1', layout: 'nchw' },
  scheduler: null,
});

describe('parseManifest', () => {
  it('reads a StyleGAN manifest, resolving files against its folder', () => {
    const m = parseManifest(JSON.stringify(good()), PATH);
    assert.equal(m.name, 'face');
    assert.deepEqual(m.latent.shape, [1, 512]);
    assert.equal(m.latent.truncation!.average, '/models/face/w_avg.npy');
    assert.deepEqual(m.latent.truncation!.tensor, { kind: 'output', graph: 0, name: 'ws', ref: 'mapping.ws' });
    assert.equal(m.constants.get('c'), '/models/face/c.npy');
    assert.deepEqual(m.graphs.map((g) => g.file), ['/models/face/mapping.onnx', '/models/face/synthesis.onnx']);
    assert.deepEqual([...m.graphs[0]!.inputs.values()].map((s) => s.kind), ['latent', 'constant']);
    assert.deepEqual([m.output.range, m.output.layout], ['-1,1', 'nchw']);
  });

  it('reads a manifest saved with a byte-order mark', () => {
    assert.equal(parseManifest('\uFEFF' + JSON.stringify(good()), PATH).name, parseManifest(JSON.stringify(good()), PATH).name);
  });

  it('takes latent.truncation: null as no truncation', () => {
    const m = good() as { latent: Record<string, unknown> };
    m.latent.truncation = null;
    assert.equal(parseManifest(JSON.stringify(m), PATH).latent.truncation, null);
  });

  const edit = (change: (m: ReturnType<typeof good>) => void): string => {
    const m = good();
    change(m);
    return JSON.stringify(m);
  };
  const bad: [string, string, string][] = [
    ['not JSON', '{"version": 1,', 'Expected JSON for manifest field (file) but received text that does not parse'],
    ['JSON with a trailing comma over several lines', '{\n "version": 1,\n "graphs": [\n  {"name": "a"},\n ]\n}', 'Expected JSON for manifest field (file) but received text that does not parse ('],
    ['an unknown top-level field', edit((m) => Object.assign(m, { steps: 4 })), 'Expected one of the fields version, name, latent, constants, graphs, output, scheduler for manifest field steps but received an unknown field'],
    ['an unknown graph field', edit((m) => Object.assign(m.graphs[1]!, { fle: 'x.onnx' })), 'Expected one of the fields name, file, inputs of graphs[1] for manifest field graphs[1].fle but received an unknown field'],
    ['another version', edit((m) => (m.version = 2)), 'Expected 1 for manifest field version but received 2'],
    ['a latent shape without the batch', edit((m) => (m.latent.shape = [512])), 'Expected an array of positive integers with the batch first, e.g. [1, 512] for manifest field latent.shape but received [512]'],
    ['a fractional latent size', edit((m) => (m.latent.shape = [1, 1.5])), 'for manifest field latent.shape but received [1, 1.5]'],
    ['a bad distribution', edit((m) => (m.latent.distribution = 'cauchy')), "Expected one of normal, uniform for manifest field latent.distribution but received 'cauchy'"],
    ['a bad range', edit((m) => (m.output.range = '0,2')), "Expected one of auto, -1,1, 0,1, 0,255 for manifest field output.range but received '0,2'"],
    ['a bad layout', edit((m) => (m.output.layout = 'chw')), "Expected one of auto, nchw, nhwc for manifest field output.layout but received 'chw'"],
    ['a graph file that is not .onnx', edit((m) => (m.graphs[0]!.file = 'mapping.pt')), "Expected a path to a .onnx file for manifest field graphs[0].file but received 'mapping.pt'"],
    ['a graph file out of the folder', edit((m) => (m.graphs[0]!.file = '../base/mapping.onnx')), "Expected a path to a .onnx file inside the manifest's folder for manifest field graphs[0].file but received '../base/mapping.onnx'"],
    ['an absolute graph file', edit((m) => (m.graphs[1]!.file = '/models/face/synthesis.onnx')), "Expected a path to a .onnx file inside the manifest's folder for manifest field graphs[1].file but received '/models/face/synthesis.onnx'"],
    ['a constant out of the folder', edit((m) => (m.constants.c = 'sub/../../c.npy')), "Expected a path to a .npy file inside the manifest's folder for manifest field constants.c but received 'sub/../../c.npy'"],
    ['a constant that is not .npy', edit((m) => (m.constants.c = 'c.txt')), "Expected a path to a .npy file for manifest field constants.c but received 'c.txt'"],
    ['an input from a later graph', edit((m) => (m.graphs[0]!.inputs.z = 'synthesis.img')), "Expected one of latent, constants.c for manifest field graphs[0].inputs.z but received 'synthesis.img'"],
    ['an unknown constant', edit((m) => (m.graphs[0]!.inputs.c = 'constants.label')), "Expected one of latent, constants.c for manifest field graphs[0].inputs.c but received 'constants.label'"],
    ['a duplicate graph name', edit((m) => (m.graphs[1]!.name = 'mapping')), "Expected a unique name other than latent and constants for manifest field graphs[1].name but received 'mapping'"],
    ['no graphs', edit((m) => (m.graphs = [])), 'Expected a non-empty array for manifest field graphs but received []'],
    ['an output that is the latent', edit((m) => (m.output.tensor = 'latent')), "Expected a graph output ('<graph>.<output>') for manifest field output.tensor but received 'latent'"],
    ['a scheduler', edit((m) => Object.assign(m, { scheduler: { steps: 4 } })), 'Expected null (reserved for diffusion pipelines) for manifest field scheduler but received object'],
    ['a truncation without its average', edit((m) => delete (m.latent.truncation as { average?: string }).average), 'Expected a path to a .npy file for manifest field latent.truncation.average but received nothing'],
  ];
  for (const [name, text, message] of bad) {
    it(`refuses ${name} with one line naming the field`, () => {
      assert.throws(
        () => parseManifest(text, PATH),
        (err: unknown) =>
          isTpdneError(err, ErrorCodes.MANIFEST) && err.message.includes(message) && err.message.endsWith(`(in ${PATH})`) && !err.message.includes('\n'),
      );
    });
  }
});
