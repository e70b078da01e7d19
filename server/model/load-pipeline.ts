/**
 * The one place that decides which {@link ImagePipeline} a model source becomes:
 *
 * - the built-in CPPN, or a `.onnx` file → the single-graph pipeline (single-graph.ts);
 * - a `.json` manifest, or a folder holding `tpdne.json` → the manifest pipeline
 *   (manifest-pipeline.ts: StyleGAN mapping + synthesis and the like);
 * - a folder in the Hugging Face Optimum diffusion layout (`model_index.json`, `unet/`,
 *   `vae_decoder/`, `text_encoder/`, `tokenizer/`, `scheduler/`) → the diffusion
 *   pipeline (diffusion.ts; see DIFFUSION below).
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { buildCppnModel } from './cppn.js';
import { createSingleGraphPipeline } from './single-graph.js';
import { TpdneError, ErrorCodes } from '../errors.js';
import type { ImagePipeline, PipelineContext } from './pipeline.js';
import type { ModelSource } from './protocol.js';
import { MANIFEST_NAME } from './latent-options.js';
import { DIFFUSION_INDEX } from './diffusion-folder.js';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export type ModelKind = 'builtin' | 'onnx' | 'manifest' | 'diffusion';

/** What a model source is, from its path alone (the folder's marker files). */
export async function modelKind(source: ModelSource): Promise<{ kind: ModelKind; path: string | null }> {
  if (source.kind === 'builtin') return { kind: 'builtin', path: null };
  const { path } = source;
  const info = await stat(path).catch(() => null);
  if (info?.isDirectory()) {
    if (await exists(join(path, DIFFUSION_INDEX))) return { kind: 'diffusion', path };
    if (await exists(join(path, MANIFEST_NAME))) return { kind: 'manifest', path: join(path, MANIFEST_NAME) };
    throw new TpdneError(
      ErrorCodes.MODEL_NOT_FOUND,
      `Expected ${MANIFEST_NAME} or ${DIFFUSION_INDEX} in the model folder ${path} but found neither`,
    );
  }
  if (path.toLowerCase().endsWith('.json')) return { kind: 'manifest', path };
  return { kind: 'onnx', path };
}

/** Builds the pipeline for a model source; every graph opens through `context.open`. */
export async function loadPipeline(source: ModelSource, context: PipelineContext): Promise<ImagePipeline> {
  const { kind, path } = await modelKind(source);
  switch (kind) {
    case 'builtin':
      return createSingleGraphPipeline(buildCppnModel((source as { size: number }).size), 'builtin-cppn', context);
    case 'onnx':
      return createSingleGraphPipeline(await readFile(path!), basename(path!), context);
    case 'manifest': {
      const { createManifestPipeline } = await import('./manifest-pipeline.js');
      return createManifestPipeline(path!, context);
    }
    case 'diffusion': {
      // DIFFUSION: the few-step text-to-image pipeline (server/model/diffusion.ts).
      const { createDiffusionPipeline } = await import('./diffusion.js');
      return createDiffusionPipeline(path!, context);
    }
  }
}
