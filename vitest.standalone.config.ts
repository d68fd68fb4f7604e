import { defineConfig } from 'vitest/config'

// npm run test:standalone: the same kind of tests against the real Milvus engine (PyPI `milvus`, 2.3.x).
export default defineConfig({
  test: {
    include: ['test/standalone/**/*.test.ts'],
    globalSetup: ['test/standalone/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
})
