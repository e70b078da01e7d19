import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, extname, relative, sep } from 'node:path';

export interface StaticFile {
  readonly bytes: Buffer;
  readonly type: string;
  readonly etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * Loads every file under `dirs` into a table keyed by URL path at start-up. A request
 * can only ever name a key of this table, so no path reaches the file system: there is
 * nothing to traverse and no directory to list. Later directories win on clashes.
 */
export function loadStaticFiles(dirs: readonly string[], maxBytes = 8 << 20): Map<string, StaticFile> {
  const table = new Map<string, StaticFile>();
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const walk = (folder: string): void => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        if (entry.name.startsWith('.')) continue;
        const path = join(folder, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile() && statSync(path).size <= maxBytes) {
          const url = '/' + relative(dir, path).split(sep).join('/');
          const bytes = readFileSync(path);
          const type = TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
          table.set(url, { bytes, type, etag: `"${bytes.length.toString(36)}-${statSync(path).mtimeMs.toString(36)}"` });
        }
      }
    };
    walk(dir);
  }
  return table;
}
