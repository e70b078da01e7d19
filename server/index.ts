/** tpdne's public API. */
export { startTpdne, type Tpdne } from './service.js';
export { sampleImageAndSaveRepeatedly, type Sampler, type SampleOptions } from './sample.js';
export { resolveServeOptions, DEFAULT_SERVE_OPTIONS, type ServeOptions, type ResolvedServeOptions } from './options.js';
export { tensorToRgb, imageGeometry, type TensorLike, type RgbImage, type ConvertOptions } from './image/tensor.js';
export { latentFor } from './latent/latent.js';
export { slotAt, slotStart } from './clock/slot.js';
export { buildCppnModel } from './model/cppn.js';
export { TpdneError, ErrorCodes, type ErrorCode } from './errors.js';
export {
  encodeFrameHeader,
  decodeFrameMessage,
  HEADER_LENGTH,
  PROTOCOL_VERSION,
  type FrameHeader,
  type DecodedFrame,
} from '../client/shared/protocol.js';
