import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The embeddable <tpdne-stream> element: one standalone ES module, dist/web/embed.js,
// served by the server at /embed.js. Runs after the page build (which empties dist/web).
export default defineConfig({
  root: here('./client'),
  publicDir: false,
  build: {
    outDir: here('./dist/web'),
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: true,
    // Served as-is to other sites: small beats readable (the source map has the source).
    minify: true,
    lib: {
      entry: here('./client/embed/index.ts'),
      formats: ['es'],
      fileName: () => 'embed.js',
    },
  },
});
