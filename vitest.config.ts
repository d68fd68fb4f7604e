import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    // One real Milvus Lite for the whole run (test/global-setup.ts), shared by test files that each
    // use a database of their own. Files run one after another: the machine has two cores and the
    // CLI tests spawn processes of their own.
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
})
