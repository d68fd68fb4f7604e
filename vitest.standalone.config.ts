import { defineConfig } from 'vitest/config'

// npm run test:standalone: the same kind of tests against the real Milvus engine (PyPI `milvus`, 2.3.x).
export default defineConfig({
  test: {
    // The standalone-only tests, plus the shared suites that pass on this older server. The alter,
    // crash and concurrency suites use features Milvus 2.3 lacks (nullable fields, keeping auto_id
    // keys) and are not yet adapted to it: see README.
    include: ['test/standalone/**/*.test.ts', 'test/integration/migrator.test.ts', 'test/integration/pager.test.ts'],
    globalSetup: ['test/standalone/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
})
