import { defineConfig } from 'vitest/config'

// npm run test:standalone: the same kind of tests against the real Milvus engine (PyPI `milvus`, 2.3.x).
export default defineConfig({
  test: {
    // The standalone-only tests, plus the shared integration and crash suites. What the server lacks
    // is probed at start (test/helpers/probe.ts); tests adapt their data to it, or assert that what
    // it lacks is refused with nothing kept. Left out: suites about the Milvus Lite process itself (lite,
    // server-faults), the matrix of every Milvus Lite data type (alter-matrix), and the randomized
    // alters (40 s a case on 2.3: `npm run test:random -- --standalone` runs them there).
    include: [
      'test/standalone/**/*.test.ts',
      'test/integration/migrator.test.ts',
      'test/integration/pager.test.ts',
      'test/integration/connections.test.ts',
      'test/integration/context.test.ts',
      'test/integration/alter.test.ts',
      'test/integration/online.test.ts',
      'test/integration/crash.test.ts',
      'test/integration/concurrency.test.ts',
      'test/integration/adopt.test.ts',
      'test/integration/failed-retry.test.ts',
      'test/integration/interrupt.test.ts',
      'test/integration/reembed.test.ts',
    ],
    globalSetup: ['test/standalone/global-setup.ts'],
    // Drops each file's databases after it (2.3 allows 64 on the one server the files share).
    setupFiles: ['test/standalone/drop-databases.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
})
