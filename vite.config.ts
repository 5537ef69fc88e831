import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** The dashboard is built from client/ into dist/client; the dev server proxies the API and socket. */
const apiTarget = `http://127.0.0.1:${process.env.PORT ?? '8080'}`;

export default defineConfig({
  root: 'client',
  plugins: [react()],
  build: { outDir: '../dist/client', emptyOutDir: true },
  server: {
    port: 5173,
    // Objects, not bare strings: a bare string also rewrites `Host` to the target, and Baton then
    // sees the page's own origin (http://localhost:5173) as another site's and refuses it.
    proxy: {
      '/v2': { target: apiTarget },
      '/healthz': { target: apiTarget },
      '/socket.io': { target: apiTarget, ws: true },
    },
  },
});
