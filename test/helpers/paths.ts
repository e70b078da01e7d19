import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test, two levels down). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A real pretrained model from ../shared/models; fails with a clear message if missing. */
export function sharedModel(name: string): string {
  const path = fileURLToPath(new URL(`../shared/models/${name}`, `file://${ROOT}`));
  if (!existsSync(path)) {
    throw new Error(`Test model ${path} is missing: the tests expect ../shared/models/ beside the repository (see its README)`);
  }
  return path;
}

export const OMORI = 'omori-sprites-32.onnx';
