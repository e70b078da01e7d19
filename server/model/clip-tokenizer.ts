/**
 * CLIP's tokenizer for diffusion prompts, through @huggingface/tokenizers (the pure-JS
 * port of Hugging Face's tokenizers). A folder saved by a fast tokenizer has
 * `tokenizer.json`; one saved by the slow CLIPTokenizer has only `vocab.json` and
 * `merges.txt`, from which the same tokenizer.json is built in memory (CLIP's
 * normaliser, pre-tokeniser, byte-level BPE with `</w>` word ends, and start/end tokens).
 *
 * The library neither pads nor truncates: {@link PromptTokenizer.encode} pads to the text
 * encoder's length with the pad token, and refuses a prompt that does not fit rather than
 * cutting it (diffusers truncates with a warning; here it is a start-up error).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { TpdneError, ErrorCodes } from '../errors.js';

export interface PromptTokenizer {
  /** `model_max_length` from tokenizer_config.json when it is a real limit (CLIP: 77). */
  readonly modelMaxLength: number | null;
  /**
   * The ids of `prompt` with the start and end tokens, padded with the pad token to
   * `length`. A prompt of more than `length` tokens throws ERR_INVALID_OPTION naming it.
   */
  encode(prompt: string, length: number): number[];
}

type Json = Record<string, unknown>;

const CLIP_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

async function readJson(path: string): Promise<Json | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  } catch {
    // reported below
  }
  throw new TpdneError(ErrorCodes.MODEL_LOAD, `Expected a JSON object in ${path} but it does not parse as one`);
}

/** A special token as tokenizer_config.json writes it: a string or `{ content }`. */
function tokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return null;
}

/**
 * The tokenizer.json a fast CLIPTokenizer saves, from the slow tokenizer's files: what
 * transformers' converter (CLIPConverter) writes.
 */
export function clipTokenizerJson(vocab: Record<string, number>, merges: string[], special: { bos: string; eos: string; unk: string }): Json {
  const added = (content: string) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  for (const token of [special.bos, special.eos]) {
    if (vocab[token] === undefined) {
      throw new TpdneError(ErrorCodes.MODEL_LOAD, `Expected the special token '${token}' in tokenizer/vocab.json but it is not there`);
    }
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...new Set([special.bos, special.eos])].map(added),
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_PATTERN }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [special.eos, vocab[special.eos]],
      cls: [special.bos, vocab[special.bos]],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: special.unk,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

/** merges.txt: an optional `#version` line, then one `left right` pair per line. */
export function parseMerges(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line, i) => line.trim() !== '' && !(i === 0 && line.startsWith('#version')));
}

/** For error messages: the prompt in quotes, cut to 80 characters. */
export function quotePrompt(prompt: string): string {
  return `'${prompt.length > 80 ? prompt.slice(0, 79) + '…' : prompt}'`;
}

/** Loads the tokenizer of a diffusion folder's `tokenizer/` (see the module comment). */
export async function loadClipTokenizer(dir: string): Promise<PromptTokenizer> {
  const config = (await readJson(join(dir, 'tokenizer_config.json'))) ?? {};
  const specialMap = (await readJson(join(dir, 'special_tokens_map.json'))) ?? {};
  const special = (key: string, fallback: string): string => tokenText(config[key]) ?? tokenText(specialMap[key]) ?? fallback;
  const bos = special('bos_token', '<|startoftext|>');
  const eos = special('eos_token', '<|endoftext|>');
  const unk = special('unk_token', eos);
  const pad = special('pad_token', eos);

  let json = await readJson(join(dir, 'tokenizer.json'));
  if (json === null) {
    const vocab = await readJson(join(dir, 'vocab.json'));
    const merges = await readFile(join(dir, 'merges.txt'), 'utf8').catch(() => null);
    if (vocab === null || merges === null) {
      throw new TpdneError(
        ErrorCodes.MODEL_NOT_FOUND,
        `Expected tokenizer/tokenizer.json, or tokenizer/vocab.json and tokenizer/merges.txt, in ${dir} but ${vocab === null ? 'vocab.json' : 'merges.txt'} is missing`,
      );
    }
    const className = config.tokenizer_class;
    if (className !== undefined && !/^CLIPTokenizer(Fast)?$/.test(String(className))) {
      throw new TpdneError(
        ErrorCodes.MODEL_LOAD,
        `Expected tokenizer/tokenizer.json for tokenizer_class '${String(className)}' (vocab.json and merges.txt are read as CLIP's) in ${dir}`,
      );
    }
    json = clipTokenizerJson(vocab as Record<string, number>, parseMerges(merges), { bos, eos, unk });
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json, config);
  } catch (err) {
    throw new TpdneError(ErrorCodes.MODEL_LOAD, `Cannot load the tokenizer in ${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const padId = tokenizer.token_to_id(pad) ?? tokenizer.token_to_id(eos);
  if (padId === undefined) {
    throw new TpdneError(ErrorCodes.MODEL_LOAD, `Expected the pad token '${pad}' in the tokenizer in ${dir} but it is not in its vocabulary`);
  }
  const max = config.model_max_length;
  // transformers writes a huge sentinel (1e30) when a tokenizer has no limit of its own.
  const modelMaxLength = typeof max === 'number' && Number.isInteger(max) && max > 0 && max <= 100_000 ? max : null;

  return {
    modelMaxLength,
    encode(prompt, length) {
      const { ids } = tokenizer.encode(prompt);
      if (ids.length > length) {
        throw new TpdneError(
          ErrorCodes.INVALID_OPTION,
          `Expected a prompt of at most ${length} tokens (with the start and end tokens) for --prompt but received ${quotePrompt(prompt)}, ${ids.length} tokens`,
        );
      }
      return [...ids, ...new Array<number>(length - ids.length).fill(padId)];
    },
  };
}
