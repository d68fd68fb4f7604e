import { defineConfig } from 'vitest/config'

// npm run test:standalone: the same kind of tests against the real Milvus engine (PyPI `milvus`, 2.3.x).
export default defineConfig({
  test: {
    // The standalone-only tests, plus the shared suites that do not need a Milvus Lite process:
    // they adapt to (or skip with the reason printed) features this older server lacks.
    include: [
      'test/standalone/**/*.test.ts',
      'test/integration/migrator.test.ts',
      'test/integration/pager.test.ts',
      'test/integration/crash.test.ts',
      'test/integration/concurrency.test.ts',
      'test/integration/alter.test.ts',
    ],
    globalSetup: ['test/standalone/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
})
