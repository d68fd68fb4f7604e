import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { connectMilvus } from '../../src/milvus/connect'

export function milvusUri(): string {
  return inject('milvusUri')
}

/** Set when the suite runs against a server with authentication (npm run test:standalone). */
export function milvusToken(): string | undefined {
  return inject('milvusToken') || undefined
}

/**
 * Features the test server lacks, found by probing it at the start of the run (helpers/probe.ts):
 * the 2.3 standalone server lacks nullable fields, indexes on sparse vectors, functions, INVERTED
 * scalar indexes and keeping auto_id keys; 'liteProcess' is a Milvus Lite process the tests may kill and restart. Tests that need a
 * feature adapt their data, or are reported as skipped with the reason printed.
 */
export type Feature =
  | 'nullable'
  | 'sparse'
  | 'functions'
  | 'keepAutoIdKeys'
  | 'invertedIndex'
  | 'multipleVectors'
  | 'consistencyLevel'
  | 'dropProperties'
  | 'liteProcess'
export function lacks(feature: Feature): boolean {
  return (inject('serverLacks') ?? []).includes(feature)
}
/** Every database freshDatabase made in this test file (each file has its own module state). */
export const databasesMadeHere: string[] = []

/** A database of its own for one test file, so files never see each other's collections. */
export async function freshDatabase(prefix = 't'): Promise<{ client: MilvusClient; database: string; uri: string }> {
  const uri = milvusUri()
  const token = milvusToken()
  const database = `${prefix}_${randomBytes(4).toString('hex')}`
  const admin = await connectMilvus({ uri, token })
  const created = await admin.createDatabase({ db_name: database })
  await admin.closeConnection()
  // Milvus 2.3 allows 64 databases: a suite that makes more must drop some (dropDatabase).
  if (created.error_code !== 'Success')
    throw new Error(`test setup: could not create database ${database}: ${created.reason || created.error_code}`)
  databasesMadeHere.push(database)
  const client = await connectMilvus({ uri, database, token })
  return { client, database, uri }
}

/** Drops a test database and its collections (Milvus 2.3 drops only empty databases). */
export async function dropDatabase(database: string): Promise<void> {
  const uri = milvusUri()
  const token = milvusToken()
  const client = await connectMilvus({ uri, database, token })
  for (const c of (await client.listCollections()).data ?? []) await client.dropCollection({ collection_name: c.name })
  await client.closeConnection()
  const admin = await connectMilvus({ uri, token })
  await admin.dropDatabase({ db_name: database })
  await admin.closeConnection()
}

/**
 * Fresh databases for the tests of one file, dropped after it: Milvus 2.3 allows 64, and the
 * standalone suite runs many files against one server. Call `dropAll` in the file's afterAll.
 */
export function fileDatabases() {
  const made: string[] = []
  return {
    async fresh(prefix: string) {
      const db = await freshDatabase(prefix)
      made.push(db.database)
      return db
    },
    async dropAll() {
      for (const d of made.splice(0)) {
        await dropDatabase(d)
        const i = databasesMadeHere.indexOf(d)
        if (i >= 0) databasesMadeHere.splice(i, 1)
      }
    },
  }
}

/** What a test compares before and after an operation that must change nothing. */
export async function snapshot(client: MilvusClient): Promise<Record<string, unknown>> {
  const cols = await client.listCollections()
  const names = (cols.data ?? []).map((c) => c.name).sort()
  const out: Record<string, unknown> = {}
  for (const name of names) {
    const d = await client.describeCollection({ collection_name: name })
    const count = await client
      .query({ collection_name: name, output_fields: ['count(*)'], consistency_level: 'Strong' as never })
      .catch(() => undefined)
    const aliases = await client.listAliases({ collection_name: name })
    out[name] = {
      fields: d.schema.fields.map((f) => [f.name, f.data_type, f.type_params]),
      properties: name === '_migrations_lock' ? 'lock' : d.properties,
      rows: count?.data?.[0]?.['count(*)'],
      aliases: aliases.aliases,
    }
    if (name === '_migrations') {
      const rows = await client.query({
        collection_name: name,
        filter: 'version != ""',
        output_fields: ['version', 'state', 'batch', 'checksum'],
        consistency_level: 'Strong' as never,
      })
      out[name + ':rows'] = rows.data.map((r) => `${r.version}:${r.state}:${r.batch}:${r.checksum}`).sort()
    }
  }
  return out
}
