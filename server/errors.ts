/**
 * The catalogue of error codes tpdne raises. Tests assert the code, never the message;
 * the CLI prints the message as one line and exits non-zero.
 */
export const ErrorCodes = {
  /** A CLI or API option had an invalid value. */
  INVALID_OPTION: 'ERR_INVALID_OPTION',
  /** The model file is missing or unreadable. */
  MODEL_NOT_FOUND: 'ERR_MODEL_NOT_FOUND',
  /** The model file could not be loaded by onnxruntime (not ONNX, corrupt, unsupported op). */
  MODEL_LOAD: 'ERR_MODEL_LOAD',
  /** The model's inputs are not a single float latent of shape [N, D] or [N, D, 1, 1]. */
  MODEL_INPUT_SHAPE: 'ERR_MODEL_INPUT_SHAPE',
  /** The model's output cannot be read as an image. */
  MODEL_OUTPUT_SHAPE: 'ERR_MODEL_OUTPUT_SHAPE',
  /**
   * A model manifest (tpdne.json) is invalid: an unknown or missing field, a bad value, a
   * missing file, a bad .npy, or shapes that do not fit between its graphs.
   */
  MANIFEST: 'ERR_MANIFEST',
  /** A model run threw. */
  MODEL_RUN: 'ERR_MODEL_RUN',
  /** A model run took longer than the model timeout. */
  MODEL_TIMEOUT: 'ERR_MODEL_TIMEOUT',
  /** The requested execution provider (cuda, webgpu) is not available. */
  DEVICE_UNAVAILABLE: 'ERR_DEVICE_UNAVAILABLE',
  /** A tensor could not be converted to an image: bad shape or type. */
  TENSOR_SHAPE: 'ERR_TENSOR_SHAPE',
  /** A tensor held NaN or Infinity; the frame is dropped. */
  TENSOR_NONFINITE: 'ERR_TENSOR_NONFINITE',
  /** The encoder (sharp) failed on a frame; the frame is dropped. */
  ENCODE: 'ERR_ENCODE',
  /** The HTTP port is already in use. */
  PORT_IN_USE: 'ERR_PORT_IN_USE',
  /** The service was closed; the call cannot proceed. */
  CLOSED: 'ERR_CLOSED',
  /** A stream message header could not be decoded. */
  PROTOCOL: 'ERR_PROTOCOL',
  /** The requested transport (--transport uws) could not load. */
  TRANSPORT_UNAVAILABLE: 'ERR_TRANSPORT_UNAVAILABLE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An error with a stable `code` from {@link ErrorCodes}. */
export class TpdneError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TpdneError';
    this.code = code;
  }
}

/** True when `err` is a TpdneError, optionally with the given code. */
export function isTpdneError(err: unknown, code?: ErrorCode): err is TpdneError {
  return err instanceof TpdneError && (code === undefined || err.code === code);
}

/** A one-line description of any thrown value, for logs and the CLI. */
export function describeError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}
