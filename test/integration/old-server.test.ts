import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectionExists } from '../../src/milvus/collections'
import { connectMilvus } from '../../src/milvus/connect'
import { type OldServer, startOldServer } from '../helpers/old-server'
import { cli, tempProject, writeMigration } from '../helpers/project'
import { record } from '../helpers/reliability'

/**
 * Promise 8 (no false success) against a real server that lacks RPCs: the C++ Milvus Lite 2.5.1.
 * It answers UNIMPLEMENTED to rename, aliases, partitions, databases and properties, which the Node
 * SDK turns into an empty OK, and "collection not found" with error_code Success. Each command
 * either works or stops with a message naming what the server did not do, and nothing is lost or
 * reported as done. (It has no databases: every test here uses the default one, with its own names.)
 */
let server: OldServer
let client: MilvusClient
// One project for the whole file: the server has one database, so one ledger.
const dir = tempProject()
const args = (...a: string[]) => ['--uri', server.uri, ...a]

beforeAll(async () => {
  server = await startOldServer()
  client = await connectMilvus({ uri: server.uri })
}, 300_000)

afterAll(async () => {
  await client?.closeConnection()
  await server?.stop()
})

const create = (name: string, extra = '') => `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({ name: '${name}', fields: [
      { name: 'id', type: 'Int64', primaryKey: true },
      { name: 'vector', type: 'FloatVector', dim: 4 },
      { name: 'title', type: 'VarChar', maxLength: 64 },
    ], indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }]${extra} })
  },
  async down(ctx) { await ctx.dropCollection('${name}') },
})
`

async function count(name: string): Promise<number> {
  const r = await client.query({
    collection_name: name,
    filter: '',
    output_fields: ['count(*)'],
    consistency_level: 'Strong',
  } as never)
  return Number(r.data[0]['count(*)'])
}

describe('a server that lacks RPCs (Milvus Lite 2.5.1)', () => {
  it('existence is judged by the collection list, not by an error_code that says Success', async () => {
    // The SDK's own hasCollection says true for a collection that does not exist on this server.
    expect((await client.hasCollection({ collection_name: 'ghost' })).value).toBe(true)
    expect(await collectionExists(client, 'ghost')).toBe(false)
  })

  it('status, and up of a create, work; an alter stops before anything is created, naming the missing RPC; nothing is lost or recorded', async () => {
    const st = await cli(dir, args('status'))
    expect(st.code, st.stderr).toBe(0)
    writeMigration(dir, '20260701000001_create.ts', create('docs'))
    const up = await cli(dir, args('up'))
    expect(up.code, up.stderr).toBe(0)
    expect(await collectionExists(client, 'docs')).toBe(true)
    await client.insert({
      collection_name: 'docs',
      data: Array.from({ length: 300 }, (_, i) => ({ id: i + 1, vector: [i, 1, 2, 3], title: `t${i}` })),
    })
    expect((await cli(dir, args('status', '--check'))).code).toBe(0)

    const grow = writeMigration(
      dir,
      '20260701000002_grow.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) { await ctx.alter('docs', (t) => { t.alterField('title', { maxLength: 512 }) }) } })
`,
    )
    const before = (await client.listCollections()).data.map((c) => c.name).sort()
    // plan runs the probes up runs: the same refusal, the same exit code, before up is tried.
    const refusal =
      "error: migrations/20260701000002_grow.ts: cannot alter 'docs' on this server: the server does not implement RenameCollection, which this step needs (it answers them with an empty reply)\n" +
      'hint: Nothing was created or changed. Renames, aliases, partitions and properties need a Milvus server (2.4 or newer, or Milvus Lite 3).'
    const plan = await cli(dir, args('plan'))
    expect(plan.code, plan.stderr).toBe(1)
    expect(plan.stdout).toBe('')
    expect(plan.stderr).toBe(
      `${refusal} \`mvmigrate up\` stops at this migration the same way, before it changes anything.\n`,
    )
    const alter = await cli(dir, args('up'))
    expect(alter.code, alter.stderr).toBe(1)
    expect(alter.stderr).toContain(`${refusal} Nothing is recorded for this migration.\n`)
    expect(alter.stderr).toContain("cannot alter 'docs' on this server: the server does not implement RenameCollection")
    expect(alter.stderr).toContain('Nothing was created or changed')
    expect(alter.stderr).not.toMatch(/backup kept|applied 20260701000002/)
    expect((await client.listCollections()).data.map((c) => c.name).sort()).toEqual(before)
    expect(await count('docs')).toBe(300)
    const d = await client.describeCollection({ collection_name: 'docs' })
    expect(
      d.schema.fields.find((f) => f.name === 'title')?.type_params?.find((p) => p.key === 'max_length')?.value,
    ).toBe('64')
    const after = JSON.parse((await cli(dir, args('status', '--json'))).stdout)
    expect(after.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'pending'])
    expect((await cli(dir, args('status', '--check'))).code).toBe(3)
    record({ badInputs: 1, rowsChecked: 300, rowsLost: 300 - (await count('docs')) })
    fs.rmSync(grow) // pending, never applied: the next test starts without it
  })

  it('a create whose properties the server drops, and an alias it does not make, are errors, not successes', async () => {
    const ttlFile = writeMigration(
      dir,
      '20260701000011_ttl.ts',
      create('with_ttl', ", properties: { 'collection.ttl.seconds': 3600 }"),
    )
    const ttl = await cli(dir, args('up'))
    expect(ttl.code, ttl.stderr).toBe(1)
    expect(ttl.stderr).toContain("set properties of 'with_ttl': the server does not implement AlterCollection")
    // the collection it could not make as asked is not left behind
    expect(await collectionExists(client, 'with_ttl')).toBe(false)

    fs.rmSync(ttlFile)
    writeMigration(
      dir,
      '20260701000021_alias.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) { await ctx.createAlias('docs', 'docs_live') } })
`,
    )
    const alias = await cli(dir, args('up'))
    expect(alias.code, alias.stderr).toBe(1)
    expect(alias.stderr).toContain("create alias 'docs_live' -> 'docs': the server does not implement CreateAlias")
    // create (applied), the ttl one (failed; its file removed since: kept as history), the alias one (failed)
    expect(
      JSON.parse((await cli(dir, args('status', '--json'))).stdout).migrations.map((m: { state: string }) => m.state),
    ).toEqual(['applied', 'failed', 'failed'])

    const db = await cli(dir, args('--database', 'analytics', 'status'))
    expect(db.code).toBe(6)
    expect(db.stderr).toContain("Cannot use database 'analytics'")
    expect(db.stderr).toContain('does not implement ListDatabases')
    record({ badInputs: 3 })
  })
})
