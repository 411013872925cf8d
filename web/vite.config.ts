import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Cornerstone's DICOM image loader starts its own module workers and loads its WASM codecs
// itself: it must not be pre-bundled (dev server), and workers are ES modules. vtk.js (under
// Cornerstone) reaches xmlbuilder2, which extends Node's EventEmitter and parses with Node's
// url: the browser builds of both (npm packages `events`, `url`) stand in.
export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: { events: 'events/events.js', url: 'url/url.js' },
  },
  optimizeDeps: {
    exclude: ['@cornerstonejs/dicom-image-loader'],
    include: ['dicom-parser'],
  },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    target: 'es2022',
    chunkSizeWarningLimit: 6000,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      '/function': 'http://127.0.0.1:8080',
      '/auth': 'http://127.0.0.1:8080',
    },
  },
});
