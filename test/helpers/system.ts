import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const announced = new Set<string>();

/** The absolute path of `program` on PATH (or the given absolute path), or null. */
export function findProgram(program: string): string | null {
  const candidates = program.includes('/') ? [program] : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, program));
  for (const path of [...candidates, `/usr/sbin/${program}`, `/sbin/${program}`]) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * For suites that need a system program: returns false when it is there, else a skip
 * reason naming the apt command (printed once, so a skip is never silent). Under CI
 * (CI=true) a missing program throws instead: nothing is skipped there.
 */
export function skipUnlessProgram(program: string, aptPackage: string): string | false {
  if (findProgram(program)) return false;
  const reason = `${program} not found: install it with 'apt-get install -y ${aptPackage}'`;
  if (process.env.CI === 'true') throw new Error(`CI: ${reason}`);
  if (!announced.has(program)) {
    announced.add(program);
    process.stdout.write(`# SKIP ${reason}\n`);
  }
  return reason;
}
