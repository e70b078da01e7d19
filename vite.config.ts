import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The client: the live page (/live). Built into dist/web, which the server serves.
export default defineConfig({
  root: here('./client'),
  publicDir: false,
  base: '/',
  build: {
    outDir: here('./dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: { live: here('./client/live.html') },
    },
  },
  server: {
    // `npx vite` during development: the page talks to a tpdne server on :8080.
    proxy: {
      '/stream': { target: 'ws://127.0.0.1:8080', ws: true },
      '/frames': 'http://127.0.0.1:8080',
      '/image.webp': 'http://127.0.0.1:8080',
      '/healthz': 'http://127.0.0.1:8080',
    },
  },
});
