import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { clipTokenizerJson, loadClipTokenizer, parseMerges } from '../../server/model/clip-tokenizer.js';
import { ErrorCodes, isTpdneError } from '../../server/errors.js';
import { skipUnlessTorch, writeTinyDiffusion } from '../helpers/diffusion.js';
import { tempDir } from '../helpers/models.js';

describe('merges.txt', () => {
  it('skips the #version line and blank lines, keeps pairs as written', () => {
    assert.deepEqual(parseMerges('#version: 0.2\ni n\nt h</w>\r\n\n'), ['i n', 't h</w>']);
    assert.deepEqual(parseMerges('a b\n'), ['a b']);
  });
});

describe('CLIP tokenizer (tiny fixture vocabulary)', { skip: skipUnlessTorch() }, () => {
  let dir = '';
  let expected: Record<string, number[]> = {};
  before(() => {
    dir = writeTinyDiffusion();
    expected = JSON.parse(readFileSync(join(dir, 'expected_tokens.json'), 'utf8')) as Record<string, number[]>;
  });

  it("gives the ids of CLIP's reference BPE, with start and end tokens, padded to 77 with the pad token", async () => {
    const tokenizer = await loadClipTokenizer(join(dir, 'tokenizer'));
    assert.equal(tokenizer.modelMaxLength, 77);
    const vocab = JSON.parse(readFileSync(join(dir, 'tokenizer', 'vocab.json'), 'utf8')) as Record<string, number>;
    const [bos, eos] = [vocab['<|startoftext|>']!, vocab['<|endoftext|>']!];
    assert.equal(Object.keys(expected).length, 4);
    for (const [prompt, ids] of Object.entries(expected)) {
      const encoded = tokenizer.encode(prompt, 77);
      assert.equal(encoded.length, 77);
      assert.deepEqual(encoded.slice(0, ids.length), ids, prompt);
      assert.equal(ids[0], bos);
      assert.equal(ids.at(-1), eos);
      // pad_token is <|endoftext|> in this tokenizer_config.json (as in openai/clip-vit-large-patch14).
      assert.ok(encoded.slice(ids.length).every((id) => id === eos));
    }
  });

  it('builds the same tokenizer from vocab.json and merges.txt alone (a slow tokenizer\'s save)', async () => {
    const slow = join(tempDir('tpdne-tok-'), 'tokenizer');
    cpSync(join(dir, 'tokenizer'), slow, { recursive: true });
    rmSync(join(slow, 'tokenizer.json'));
    const [fast, fromBpe] = await Promise.all([loadClipTokenizer(join(dir, 'tokenizer')), loadClipTokenizer(slow)]);
    for (const prompt of [...Object.keys(expected), 'the cat said: "hello", 12 times!', 'ÜBER café ☕']) {
      assert.deepEqual(fromBpe.encode(prompt, 77), fast.encode(prompt, 77), prompt);
    }
    // And the in-memory tokenizer.json is the one the fixture script writes.
    const written = JSON.parse(readFileSync(join(dir, 'tokenizer', 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    const vocab = JSON.parse(readFileSync(join(slow, 'vocab.json'), 'utf8')) as Record<string, number>;
    const merges = parseMerges(readFileSync(join(slow, 'merges.txt'), 'utf8'));
    assert.deepEqual(clipTokenizerJson(vocab, merges, { bos: '<|startoftext|>', eos: '<|endoftext|>', unk: '<|endoftext|>' }), written);
  });

  it('refuses a prompt longer than the length, naming it, in one line', async () => {
    const tokenizer = await loadClipTokenizer(join(dir, 'tokenizer'));
    // 75 tokens + start + end = 77: fits exactly; one more does not.
    const fits = Array.from({ length: 75 }, () => 'cat').join(' ');
    assert.equal(tokenizer.encode(fits, 77).length, 77);
    assert.throws(
      () => tokenizer.encode(fits + ' cat', 77),
      (err: unknown) =>
        isTpdneError(err, ErrorCodes.INVALID_OPTION) &&
        err.message === `Expected a prompt of at most 77 tokens (with the start and end tokens) for --prompt but received '${fits.slice(0, 79)}…', 78 tokens`,
    );
  });

  it('names what is missing when neither tokenizer.json nor vocab.json + merges.txt is there', async () => {
    const empty = join(tempDir('tpdne-tok-'), 'tokenizer');
    mkdirSync(empty);
    cpSync(join(dir, 'tokenizer', 'vocab.json'), join(empty, 'vocab.json'));
    await assert.rejects(
      loadClipTokenizer(empty),
      (err: unknown) =>
        isTpdneError(err, ErrorCodes.MODEL_NOT_FOUND) &&
        /^Expected tokenizer\/tokenizer\.json, or tokenizer\/vocab\.json and tokenizer\/merges\.txt, in .* but merges\.txt is missing$/.test(err.message),
    );
  });
});
