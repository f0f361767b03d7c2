import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', 'dist/**', 'runs/**', 'bench/**', 'test/.failed/**'],
    // End-to-end files load the same two cores; running them one after another keeps capacities honest.
    fileParallelism: false,
    // Every temporary file of the run in one folder, removed at its end.
    globalSetup: ['test/temp-folder.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
