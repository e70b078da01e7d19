/**
 * The most upcoming slots one model run makes (`--batch` is refused above it): beyond 8,
 * a frame would wait more than 2 s at 250 ms slots for its batch-mates. Its own module so
 * the options (which must not load onnxruntime) can read it.
 */
export const MAX_BATCH = 8;
