import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { connectMilvus } from '../../src/milvus/connect'

export function milvusUri(): string {
  return inject('milvusUri')
}

/** A database of its own for one test file, so files never see each other's collections. */
export async function freshDatabase(prefix = 't'): Promise<{ client: MilvusClient; database: string; uri: string }> {
  const uri = milvusUri()
  const database = `${prefix}_${randomBytes(4).toString('hex')}`
  const admin = await connectMilvus({ uri })
  await admin.createDatabase({ db_name: database })
  await admin.closeConnection()
  const client = await connectMilvus({ uri, database })
  return { client, database, uri }
}

/** What a test compares before and after an operation that must change nothing. */
export async function snapshot(client: MilvusClient): Promise<Record<string, unknown>> {
  const cols = await client.listCollections()
  const names = (cols.data ?? []).map((c) => c.name).sort()
  const out: Record<string, unknown> = {}
  for (const name of names) {
    const d = await client.describeCollection({ collection_name: name })
    const count = await client.query({ collection_name: name, output_fields: ['count(*)'], consistency_level: 'Strong' as never }).catch(() => undefined)
    const aliases = await client.listAliases({ collection_name: name })
    out[name] = {
      fields: d.schema.fields.map((f) => [f.name, f.data_type, f.type_params]),
      properties: name === '_migrations_lock' ? 'lock' : d.properties,
      rows: count?.data?.[0]?.['count(*)'],
      aliases: aliases.aliases,
    }
    if (name === '_migrations') {
      const rows = await client.query({ collection_name: name, filter: 'version != ""', output_fields: ['version', 'state', 'batch', 'checksum'], consistency_level: 'Strong' as never })
      out[name + ':rows'] = rows.data.map((r) => `${r.version}:${r.state}:${r.batch}:${r.checksum}`).sort()
    }
  }
  return out
}
