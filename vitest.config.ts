import { defineConfig } from 'vitest/config';

// Files that need a fresh process of their own: openapi.test.ts generates the document, whose
// schema names depend on what other apps in the process registered before.
const isolated = ['test/openapi.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that train share two cores; running files one at a time keeps timings honest.
    fileParallelism: false,
    // Files in a new order every run, so that none leans on what another left: vitest prints the
    // seed ("Running tests with seed …"); `npx vitest run --sequence.seed=<seed>` replays that
    // order. The tests within a file keep theirs (some build on the one before).
    sequence: { shuffle: { files: true, tests: false } },
    projects: [
      {
        extends: true,
        // Every other file runs in one process, one after another: each cleans up what it
        // starts (apps, pools, servers), and a suite run is about 80 s shorter per Node version.
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: isolated, isolate: false, sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: 'isolated', include: isolated, sequence: { groupOrder: 1 } } },
    ],
  },
});
