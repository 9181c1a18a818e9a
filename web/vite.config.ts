import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard is served by the API itself at / (src/server/dashboard.ts), from the package's dist/web.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
  },
  logLevel: 'warn',
});
