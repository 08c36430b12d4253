import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The web console: `npm run build:ui` writes dist/ui, which `tributary serve` serves at /.
 * `npm run dev:ui` serves it with hot reload and forwards /api to a `tributary serve` on :8080.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    // No inline scripts or data: modules: the server's CSP allows scripts from 'self' only.
    assetsInlineLimit: 0,
    sourcemap: true,
    // React, rjsf and its lodash make one ~600 kB bundle (180 kB gzipped), served once and cached.
    chunkSizeWarningLimit: 800,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
