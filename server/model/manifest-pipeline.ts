/** The manifest pipeline: several ONNX graphs and the glue between them (tpdne.json). */
import { TpdneError, ErrorCodes } from '../errors.js';
import type { ImagePipeline, PipelineContext } from './pipeline.js';

export async function createManifestPipeline(path: string, context: PipelineContext): Promise<ImagePipeline> {
  void context;
  throw new TpdneError(ErrorCodes.MANIFEST, `Cannot load manifest ${path}: manifest pipelines are not implemented yet`);
}
