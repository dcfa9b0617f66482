import path from 'node:path';
import { defineConfig } from 'vite';
import { devServerConfig } from './dev-server.variables.mjs';

// The dev server stands in front of a gateway (default: the one `npm start` runs) so that the page,
// `/api` and `/ws` share one origin, exactly as when the gateway serves the built files itself.
const { TICKHUB_GATEWAY_URL: gateway, DASHBOARD_DEV_PORT: port } = devServerConfig(process.env);
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
    port,
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
