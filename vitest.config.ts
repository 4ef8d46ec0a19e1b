import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that train share two cores; running files one at a time keeps timings honest.
    fileParallelism: false,
  },
});
