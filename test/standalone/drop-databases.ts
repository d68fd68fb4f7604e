import { afterAll } from 'vitest'
import { databasesMadeHere, dropDatabase } from '../helpers/milvus'

/**
 * Setup file of the standalone suite: after each test file, the databases its tests made are
 * dropped. Milvus 2.3 allows 64 databases and the suite runs every file against one server; a
 * drop that fails (a collection still in use) is reported and the run goes on.
 */
afterAll(async () => {
  const made = databasesMadeHere.splice(0)
  let dropped = 0
  for (const d of made)
    await dropDatabase(d).then(
      () => dropped++,
      (e) => console.log(`could not drop test database ${d}: ${String(e)}`),
    )
  if (made.length) console.log(`dropped ${dropped} of ${made.length} test database(s) this file made`)
}, 300_000)
