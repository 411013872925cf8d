import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Cornerstone's DICOM image loader starts its own module workers and loads its WASM codecs
// itself: it must not be pre-bundled (dev server), and workers are ES modules.
export default defineConfig({
  plugins: [react()],
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
