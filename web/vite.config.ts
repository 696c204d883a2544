/**
 * The dashboard's build: a Preact SPA bundled into web/dist, which `taskloom serve` serves at `/`.
 * Everything the page needs is in the bundle (no CDN at run time).
 *
 * `npx vite --config web/vite.config.ts` runs a dev server that proxies the API and streams to a
 * `taskloom serve` on TASKLOOM_API_URL (default http://127.0.0.1:8000).
 */
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
// Pipelines' dashboard pages (src/pipelines/*/dashboard) import the dashboard's pieces as `@dashboard/...`.
const dashboardSources = fileURLToPath(new URL('./src', import.meta.url));
const apiUrl = process.env.TASKLOOM_API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  root,
  base: '/',
  plugins: [preact({ devToolsInProd: false, prefreshEnabled: true })],
  resolve: { alias: { '@dashboard': dashboardSources } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      '/api': apiUrl,
      '/healthz': apiUrl,
      // The learning pipeline's routes keep the seed's paths, outside /api.
      '/knowledge': apiUrl,
      '/jobs': apiUrl,
      '/ws': { target: apiUrl.replace(/^http/, 'ws'), ws: true },
    },
  },
});
