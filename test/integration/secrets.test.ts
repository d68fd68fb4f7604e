import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freshDatabase, milvusToken } from '../helpers/milvus'
import { type CliResult, cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'
import { record } from '../helpers/reliability'

/**
 * Promise: a password or token never appears in anything mvmigrate prints or stores. Every command
 * that prints runs with a recognisable token and password, given by flag, by environment and inside
 * the uri, against a reachable and an unreachable server, plain, --json and --verbose.
 */
const TOKEN = 'tok-SECRET-4242'
const PASSWORD = 'Pw-SECRET-9999'
const SECRETS = [TOKEN, PASSWORD, 'SECRET']

const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

function expectClean(r: CliResult, what: string): void {
  for (const s of SECRETS) {
    expect(r.stdout, `${what}: stdout`).not.toContain(s)
    expect(r.stderr, `${what}: stderr`).not.toContain(s)
  }
}

/** Everything mvmigrate keeps in Milvus: the ledger, the journal and the lock, as text. */
async function stored(client: MilvusClient): Promise<string> {
  const out: string[] = []
  for (const c of (await client.listCollections()).data ?? []) {
    if (!c.name.startsWith('_migrations')) continue
    const d = await client.describeCollection({ collection_name: c.name })
    out.push(JSON.stringify(d.properties), JSON.stringify(d.schema?.description))
    if (c.name !== '_migrations_lock') {
      await client.loadCollection({ collection_name: c.name })
      const rows = await client.query({
        collection_name: c.name,
        filter: '',
        output_fields: ['*'],
        limit: 1000,
        consistency_level: 'Strong',
      } as never)
      out.push(JSON.stringify(rows.data))
    }
  }
  return out.join('\n')
}

describe('secrets stay secret', () => {
  it('no command prints or stores a token or password given by flag, env or uri, reachable or not', async () => {
    // The test server's own token (standalone runs with auth) is passed as the real credential where
    // one is needed; the recognisable secrets ride along where a server ignores them or as the uri's.
    const db = await freshDatabase('secrets')
    clients.push(db.client)
    const dir = tempProject()
    writeMigration(dir, '20260601000001_create.ts', createCollectionMigration('docs'))
    // A failing migration whose error quotes the uri with its credentials: the ledger must not keep them.
    writeMigration(
      dir,
      '20260601000002_boom.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up() { throw new Error('could not reach ' + process.env.APP_URI) } })
`,
    )
    const host = db.uri.replace(/^http:\/\//, '')
    const reachable = milvusToken()
      ? [
          // With authentication on, the credentials must be real: the test token stands in, and the uri carries user:password.
          { name: 'uri userinfo', args: ['--uri', `http://root:${PASSWORD}@${host}`], env: {} },
        ]
      : [
          { name: 'token flag', args: ['--uri', db.uri, '--token', TOKEN], env: {} },
          {
            name: 'password env',
            args: ['--uri', db.uri],
            env: { MILVUS_USERNAME: 'alice', MILVUS_PASSWORD: PASSWORD },
          },
          { name: 'uri userinfo', args: ['--uri', `http://alice:${PASSWORD}@${host}`], env: {} },
          { name: 'uri env userinfo', args: [], env: { MILVUS_URI: `http://alice:${PASSWORD}@${host}` } },
        ]
    const unreachable = [
      {
        name: 'unreachable, token flag',
        args: ['--uri', 'http://127.0.0.1:1', '--token', TOKEN, '--connect-timeout', '2'],
        env: {},
      },
      {
        name: 'unreachable, uri userinfo',
        args: ['--uri', `http://alice:${PASSWORD}@127.0.0.1:1`, '--connect-timeout', '2'],
        env: {},
      },
      {
        name: 'unreachable, env',
        args: ['--connect-timeout', '2'],
        env: { MILVUS_URI: `https://alice:${PASSWORD}@127.0.0.1:1`, MILVUS_TOKEN: TOKEN },
      },
    ]
    const commands = [['status'], ['up'], ['plan'], ['down'], ['prune', '--dry-run'], ['unlock']]
    const env = { APP_URI: `http://alice:${PASSWORD}@db.example:19530` }
    let runs = 0
    for (const source of [...reachable, ...unreachable]) {
      for (const command of commands) {
        for (const mode of [['--json'], ['--verbose']]) {
          const r = await cli(dir, [...source.args, '--database', db.database, ...command, ...mode], {
            env: { ...env, ...source.env },
          })
          expectClean(r, `${source.name}: ${[...command, ...mode].join(' ')}`)
          runs++
          if (source.name.startsWith('unreachable')) {
            expect(r.code, r.stderr).toBe(6)
            if (mode[0] !== '--json') expect(r.stderr).toMatch(/Could not reach Milvus at https?:\/\/127\.0\.0\.1:1/)
          }
        }
      }
    }
    // make and init print paths, not credentials; the config file given the secret is echoed nowhere.
    fs.writeFileSync(
      path.join(dir, 'mvmigrate.config.json'),
      JSON.stringify({
        lite: { venvDir: '/nonexistent' },
        token: TOKEN,
        password: PASSWORD,
        uri: `http://alice:${PASSWORD}@127.0.0.1:1`,
        connectTimeout: 2,
      }),
    )
    for (const command of [['status', '--verbose'], ['status', '--json'], ['make', 'next'], ['init']])
      expectClean(await cli(dir, command), command.join(' '))
    const stored1 = await stored(db.client)
    expect(stored1).toContain('could not reach http://***@db.example:19530')
    for (const s of SECRETS) expect(stored1).not.toContain(s)
    record({ badInputs: runs })
  })
})
