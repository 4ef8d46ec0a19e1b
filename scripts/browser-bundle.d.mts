// Types of browser-bundle.mjs for the TypeScript that imports it (src/routes/browser-trainer.ts).
import type { BuildResult } from 'esbuild';

export const BROWSER_DIRECTORY: string;
export const BROWSER_ENTRY_POINTS: string[];
export function bundleBrowser(options: { root: string; outdir: string; write?: boolean }): Promise<BuildResult>;
