// The browser trainer (browser/, which imports the engine from src/engine) bundled for a tab
// with esbuild: ES modules, the worker and the page's module sharing chunks. scripts/build.mjs
// writes it into dist/browser/; the service running from its TypeScript sources (tests, tsx)
// bundles it in memory on the first request instead (src/routes/browser-trainer.ts).
import path from 'node:path';

export const BROWSER_DIRECTORY = 'browser';
// Public entry points: /browser/trainer.js (train, the dataset, local predictions) and the
// Web Worker it starts, which it finds beside itself.
export const BROWSER_ENTRY_POINTS = ['browser/trainer.ts', 'browser/team-worker.ts'];

// Returns esbuild's result; with write: false, its outputFiles hold the bundle.
export async function bundleBrowser({ root, outdir, write = true }) {
  const { build } = await import('esbuild');
  return build({
    absWorkingDir: root,
    entryPoints: BROWSER_ENTRY_POINTS.map((file) => path.join(root, file)),
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    // Chromium, Firefox and Safari of 2023 on: WebAssembly SIMD128, module workers, top-level await.
    target: ['chrome114', 'firefox115', 'safari16.4'],
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    write,
    logLevel: 'warning',
  });
}
