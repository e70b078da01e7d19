import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildCppnModel, CPPN_LATENT } from '../../server/model/cppn.js';
import { latentFor } from '../../server/latent/latent.js';
import { tensorToRgb } from '../../server/image/tensor.js';

describe('built-in CPPN (an ONNX graph built by our own code)', () => {
  it('loads in onnxruntime with a [1, 32] latent and a [1, S, S, 3] image in [0, 1]', async () => {
    const session = await ort.InferenceSession.create(buildCppnModel(64));
    try {
      assert.deepEqual(session.inputMetadata.map((m) => [m.name, m.isTensor && m.shape]), [['latent', [1, CPPN_LATENT]]]);
      const out = await session.run({ latent: new ort.Tensor('float32', latentFor(1, 5, CPPN_LATENT, 'normal'), [1, CPPN_LATENT]) });
      const image = out.image as ort.Tensor;
      assert.deepEqual(image.dims, [1, 64, 64, 3]);
      const data = image.data as Float32Array;
      assert.ok(data.every((v) => v >= 0 && v <= 1));
    } finally {
      await session.release();
    }
  });

  it('is colourful and different every slot', async () => {
    const session = await ort.InferenceSession.create(buildCppnModel(96));
    try {
      const images = [];
      for (const slot of [100, 101, 102]) {
        const out = await session.run({ latent: new ort.Tensor('float32', latentFor(1, slot, CPPN_LATENT, 'normal'), [1, CPPN_LATENT]) });
        images.push(tensorToRgb(out.image as ort.Tensor as never).data);
      }
      for (const rgb of images) {
        // Colourful: on average the channels of a pixel differ a lot (grey would be 0).
        let chroma = 0;
        for (let i = 0; i < rgb.length; i += 3) chroma += Math.max(rgb[i]!, rgb[i + 1]!, rgb[i + 2]!) - Math.min(rgb[i]!, rgb[i + 1]!, rgb[i + 2]!);
        assert.ok(chroma / (rgb.length / 3) > 60, `mean chroma ${chroma / (rgb.length / 3)}`);
        // Varied: not one flat colour.
        const values = new Set(rgb);
        assert.ok(values.size > 100);
      }
      const distance = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
      assert.ok(distance(images[0]!, images[1]!) > 30, 'consecutive slots look different');
      assert.ok(distance(images[1]!, images[2]!) > 30, 'consecutive slots look different');
    } finally {
      await session.release();
    }
  });

  it('is the same graph on every build (fixed weights)', () => {
    assert.ok(Buffer.from(buildCppnModel(32)).equals(Buffer.from(buildCppnModel(32))));
  });
});
