import path from 'node:path';
import { defineConfig } from 'vite';

// The dev server stands in front of a gateway (default: the one `npm start` runs) so that the page,
// `/api` and `/ws` share one origin, exactly as when the gateway serves the built files itself.
const gateway = process.env.TICKHUB_GATEWAY_URL ?? 'http://localhost:8080';
const packages = path.resolve(import.meta.dirname, '../../packages');

export default defineConfig({
  // Relative asset URLs: the gateway serves dist/ at `/`, and the files also work under a path prefix.
  base: './',
  resolve: {
    // Workspace packages compile to CommonJS for Node; the browser bundle takes their ES sources.
    alias: [
      { find: /^@tickhub\/client$/, replacement: `${packages}/client/src/index.ts` },
      { find: /^@tickhub\/protocol$/, replacement: `${packages}/protocol/src/index.ts` },
      // The timeframes alone, without the Node-only parts of the package (tick records use Buffer).
      { find: /^@tickhub\/protocol\/candles$/, replacement: `${packages}/protocol/src/candles.ts` },
    ],
  },
  server: {
    port: Number(process.env.DASHBOARD_DEV_PORT ?? 5173),
    proxy: {
      '/api': { target: gateway, changeOrigin: true },
      '/ws': { target: gateway, ws: true, changeOrigin: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 400,
  },
});
