import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connectMilvus } from '../../src/milvus/connect'
import { openDataClient } from '../../src/milvus/data-client'
import type { TlsOptions } from '../../src/milvus/tls-files'
import { NAMED_SERVER, type TestPki, makeTestPki } from '../helpers/certs'
import { cli, tempProject, writeMigration } from '../helpers/project'

/**
 * TLS on every connection mvmigrate opens, against the Milvus 2.3 standalone serving TLS with a
 * private CA made by openssl for this run: tlsMode 1 (server certificate for localhost and
 * 127.0.0.1) and tlsMode 2 (client certificates required; its certificate names only
 * milvus.internal.example, so it is reached with --tls-server-name). Each `up` runs an alter, whose
 * copy goes over the second, bulk connection; each failure is asserted with its whole message.
 */
interface Server {
  uri: string
  token: string
  stop(): Promise<void>
}
interface TlsServerOptions {
  mode: 1 | 2
  serverCert: string
  serverKey: string
  ca?: string
  client: TlsOptions
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startStandalone } = require('../../scripts/standalone-server.js') as {
  startStandalone(o: { log?: (l: string) => void; tls?: TlsServerOptions }): Promise<Server>
}

let pki: TestPki
/** tlsMode 1, certificate for DNS:localhost and IP:127.0.0.1. */
let one: Server
let oneTls: TlsOptions
/** tlsMode 2, certificate for DNS:milvus.internal.example only; client certificates signed by pki.ca. */
let two: Server
let twoTls: TlsOptions
const clients: MilvusClient[] = []

async function startTlsServer(tls: TlsServerOptions): Promise<Server> {
  try {
    return await startStandalone({ log: console.log, tls })
  } catch (e) {
    console.log(`tlsMode ${tls.mode} server did not start, starting it again: ${String(e).split('\n')[0]}`)
    return await startStandalone({ log: console.log, tls })
  }
}

beforeAll(async () => {
  pki = makeTestPki()
  oneTls = { ca: pki.ca }
  twoTls = { ca: pki.ca, cert: pki.client.cert, key: pki.client.key, serverName: NAMED_SERVER }
  // One after the other: two milvus-server wrappers picking their internal ports at once can pick
  // the same. A start that fails (another engineer's or test run's server took a port) is tried again.
  one = await startTlsServer({ mode: 1, serverCert: pki.server.cert, serverKey: pki.server.key, client: oneTls })
  two = await startTlsServer({
    mode: 2,
    serverCert: pki.namedServer.cert,
    serverKey: pki.namedServer.key,
    ca: pki.ca,
    client: twoTls,
  })
}, 600_000)

afterAll(async () => {
  for (const c of clients) await c.closeConnection().catch(() => undefined)
  await Promise.all([one?.stop(), two?.stop()])
  pki?.rm()
})

/** A fresh database on a TLS server, and a client in it (over TLS: the tests read back through it). */
async function freshDatabase(server: Server, tls: TlsOptions): Promise<{ database: string; client: MilvusClient }> {
  const database = `tls_${randomBytes(4).toString('hex')}`
  const admin = await connectMilvus({ uri: server.uri, token: server.token, tls })
  expect((await admin.createDatabase({ db_name: database })).error_code).toBe('Success')
  await admin.closeConnection()
  const client = await connectMilvus({ uri: server.uri, token: server.token, database, tls })
  clients.push(client)
  return { database, client }
}

const ROWS = 300

/** A project whose `up` creates `docs` with rows, then alters it (copy-and-swap over the bulk connection). */
function alterProject(config: Record<string, unknown> = {}): string {
  const dir = tempProject(config)
  writeMigration(
    dir,
    '20260101000001_docs.ts',
    `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({
      name: 'docs',
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true },
        { name: 'vector', type: 'FLOAT_VECTOR', dim: 4 },
        { name: 'title', type: 'VarChar', maxLength: 200 },
      ],
      indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }],
    })
    await ctx.insert('docs', Array.from({ length: ${ROWS} }, (_, i) => ({ id: i + 1, vector: [i, 1, 2, 3], title: 't' + (i + 1) })))
  },
  async down(ctx) { await ctx.dropCollection('docs') },
})
`,
  )
  writeMigration(
    dir,
    '20260101000002_heading.ts',
    `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => {
      t.renameField('title', 'heading')
      t.addField({ name: 'parity', type: 'VarChar', maxLength: 4 })
      t.backfill('parity', (row) => (Number(row.id) % 2 ? 'odd' : 'even'))
    })
  },
  async down(ctx) { await ctx.revertAlter('docs') },
})
`,
  )
  return dir
}

/** Every row of docs after the alter, checked by value. */
async function expectAltered(client: MilvusClient): Promise<void> {
  const res = await client.query({
    collection_name: 'docs',
    filter: 'id > 0',
    output_fields: ['id', 'heading', 'parity'],
    limit: 1000,
    consistency_level: 'Strong' as never,
  })
  expect(res.status.error_code).toBe('Success')
  const rows = new Map(res.data.map((r) => [Number(r.id), r]))
  expect(rows.size).toBe(ROWS)
  for (let id = 1; id <= ROWS; id++) {
    expect(rows.get(id)?.heading, `row ${id}`).toBe(`t${id}`)
    expect(rows.get(id)?.parity, `row ${id}`).toBe(id % 2 ? 'odd' : 'even')
  }
}

function statusStates(stdout: string): string[] {
  return (JSON.parse(stdout) as { migrations: { state: string }[] }).migrations.map((m) => m.state)
}

const flags = (tls: TlsOptions): string[] => [
  ...(tls.ca ? ['--tls-ca', tls.ca] : []),
  ...(tls.cert ? ['--tls-cert', tls.cert] : []),
  ...(tls.key ? ['--tls-key', tls.key] : []),
  ...(tls.serverName ? ['--tls-server-name', tls.serverName] : []),
]

/** The names each TLS option goes by in CLI words (src/hints.ts). */
const CA = '--tls-ca / MILVUS_TLS_CA / tls.ca'
const CERT = '--tls-cert / MILVUS_TLS_CERT / tls.cert'
const KEY = '--tls-key / MILVUS_TLS_KEY / tls.key'
const SERVER_NAME = '--tls-server-name / MILVUS_TLS_SERVER_NAME / tls.serverName'

describe('TLS: a private CA and mutual TLS (Milvus 2.3 standalone with tlsMode 1 and 2)', () => {
  it('tlsMode 1 with --tls-ca: up of a create and an alter (the copy over TLS too), then status', async () => {
    const db = await freshDatabase(one, oneTls)
    const dir = alterProject()
    const args = (...a: string[]) => ['--uri', one.uri, '--database', db.database, ...flags(oneTls), ...a]
    const up = await cli(dir, args('up'))
    expect(up.code, up.stderr).toBe(0)
    expect(up.stdout).toContain('Applied 2 migration(s) as batch 1')
    expect(up.stderr).toMatch(/docs: done: 300 rows copied, verified and swapped in \d+\.\d s/)
    await expectAltered(db.client)
    const st = await cli(dir, args('status', '--json'))
    expect(st.code, st.stderr).toBe(0)
    expect(statusStates(st.stdout)).toEqual(['applied', 'applied'])
    expect((await cli(dir, args('status', '--check'))).code).toBe(0)
  })

  it('tlsMode 2 with a client pair and --tls-server-name, from a config environment (paths relative to it) and from MILVUS_TLS_*', async () => {
    const db = await freshDatabase(two, twoTls)
    const dir = alterProject({
      environments: {
        secure: {
          uri: two.uri,
          database: db.database,
          tls: { ca: 'certs/ca.pem', cert: 'certs/client.pem', key: 'certs/client.key', serverName: NAMED_SERVER },
        },
      },
    })
    fs.mkdirSync(path.join(dir, 'certs'))
    for (const f of [pki.ca, pki.client.cert, pki.client.key])
      fs.copyFileSync(f, path.join(dir, 'certs', path.basename(f)))
    const up = await cli(dir, ['--env', 'secure', 'up'])
    expect(up.code, up.stderr).toBe(0)
    expect(up.stdout).toContain('Applied 2 migration(s) as batch 1')
    expect(up.stderr).toMatch(/docs: done: 300 rows copied, verified and swapped in \d+\.\d s/)
    await expectAltered(db.client)
    // `status` from another terminal, configured by the environment variables alone.
    const elsewhere = tempProject()
    fs.cpSync(path.join(dir, 'migrations'), path.join(elsewhere, 'migrations'), { recursive: true })
    const st = await cli(elsewhere, ['status', '--json'], {
      env: {
        MILVUS_URI: two.uri,
        MILVUS_DATABASE: db.database,
        MILVUS_TLS_CA: pki.ca,
        MILVUS_TLS_CERT: pki.client.cert,
        MILVUS_TLS_KEY: pki.client.key,
        MILVUS_TLS_SERVER_NAME: NAMED_SERVER,
      },
    })
    expect(st.code, st.stderr).toBe(0)
    expect(statusStates(st.stdout)).toEqual(['applied', 'applied'])
    // The bulk connection is a connection of its own (not the session's), through mutual TLS.
    const data = await openDataClient(db.client)
    try {
      expect(data.client).not.toBe(db.client)
      expect(data.lean).toBe(true)
      const count = await data.client.query({
        collection_name: 'docs',
        filter: '',
        output_fields: ['count(*)'],
        consistency_level: 'Strong' as never,
      })
      expect(count.data).toEqual([{ 'count(*)': String(ROWS) }])
    } finally {
      await data.close()
    }
  })

  it('each TLS failure exits 6 with what went wrong and what to do, and changes nothing', async () => {
    const db1 = await freshDatabase(one, oneTls)
    const db2 = await freshDatabase(two, twoTls)
    const dir = alterProject()
    const up = (uri: string, database: string, tls: TlsOptions) =>
      cli(dir, ['--uri', uri, '--database', database, ...flags(tls), 'up'])
    const expectFailure = async (
      run: Promise<{ code: number; stdout: string; stderr: string }>,
      message: string,
      hint: string,
    ) => {
      const r = await run
      expect(r.stderr).toBe(`error: ${message}\nhint: ${hint}\n`)
      expect(r.code).toBe(6)
      expect(r.stdout).toBe('')
    }

    // The server's certificate is not signed by the CA given, or (no CA given) by a public CA.
    await expectFailure(
      up(one.uri, db1.database, { ca: pki.otherCa }),
      `TLS: the certificate of ${one.uri} (CN=localhost, issued by CN=mvmigrate test CA) is not signed by the CA in ${pki.otherCa} (unable to verify the first certificate)`,
      `Pass the certificate of the CA that issued the server's certificate with ${CA} (for Milvus: the CA that signed the file its tls.serverPemPath names).`,
    )
    await expectFailure(
      up(one.uri, db1.database, {}),
      `TLS: the certificate of ${one.uri} (CN=localhost, issued by CN=mvmigrate test CA) is not signed by a public CA (unable to verify the first certificate)`,
      `The server's certificate comes from a private CA: pass that CA's certificate (PEM) with ${CA}.`,
    )
    // The certificate is for another name than the host mvmigrate connects to.
    await expectFailure(
      up(two.uri, db2.database, { ...twoTls, serverName: undefined }),
      `TLS: the certificate of ${two.uri} is for DNS:${NAMED_SERVER}, not for '127.0.0.1'`,
      `${SERVER_NAME} sets the name mvmigrate expects: pass one the certificate carries (${NAMED_SERVER}), or connect by that name in --uri / MILVUS_URI.`,
    )
    await expectFailure(
      up(one.uri, db1.database, { ...oneTls, serverName: 'milvus.elsewhere.example' }),
      `TLS: the certificate of ${one.uri} is for DNS:localhost, IP Address:127.0.0.1, not for 'milvus.elsewhere.example'`,
      `${SERVER_NAME} sets the name mvmigrate expects: pass one the certificate carries (localhost), or connect by that name in --uri / MILVUS_URI.`,
    )
    // Mutual TLS: no client certificate, and one the server does not trust.
    await expectFailure(
      up(two.uri, db2.database, { ca: pki.ca, serverName: NAMED_SERVER }),
      `TLS: ${two.uri} requires a client certificate (mutual TLS), and none was given (the server answered: sslv3 alert bad certificate (SSL alert number 42))`,
      `Pass a client certificate signed by the CA the server trusts (Milvus: tls.caPemPath) with ${CERT}, and its key with ${KEY}.`,
    )
    const refused = await cli(dir, [
      '--uri',
      two.uri,
      '--database',
      db2.database,
      ...flags({ ...twoTls, cert: pki.stranger.cert, key: pki.stranger.key }),
      'up',
    ])
    expect(refused.code).toBe(6)
    expect(refused.stderr).toMatch(
      new RegExp(
        `^error: TLS: ${esc(two.uri)} refused the client certificate ${esc(pki.stranger.cert)} \\(CN=stranger, issued by CN=another CA; the server answered: sslv3 alert bad certificate \\(SSL alert number 42\\)\\)\n` +
          `hint: The server takes client certificates signed by the CA it trusts \\(Milvus: tls.caPemPath\\) and still valid \\(this one is until \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4} GMT\\): pass such a certificate and its key with ${esc(CERT)} and ${esc(KEY)}.\n$`,
      ),
    )
    // TLS asked of the plain server (the suite's own), by a CA file and by https:// alone.
    const plain = inject('standaloneUri')
    const notTlsHint = `This Milvus serves plain gRPC (tlsMode 0): connect with an http:// uri and without the TLS options (--tls-ca, --tls-cert, --tls-key, --tls-server-name; MILVUS_TLS_*; tls in the config), or turn TLS on in the server (common.security.tlsMode 1 or 2).`
    await expectFailure(
      cli(dir, ['--uri', plain, '--tls-ca', pki.ca, 'up']),
      `TLS: ${plain} does not speak TLS (wrong version number)`,
      notTlsHint,
    )
    const plainHttps = plain.replace(/^http:/, 'https:')
    await expectFailure(
      cli(dir, ['--uri', plainHttps, 'up']),
      `TLS: ${plainHttps} does not speak TLS (wrong version number)`,
      notTlsHint,
    )
    // Plain gRPC asked of a TLS server.
    const oneHttp = one.uri.replace(/^https:/, 'http:')
    await expectFailure(
      up(oneHttp, db1.database, {}),
      `TLS: ${oneHttp} speaks TLS, but the connection was made without it (its certificate: CN=localhost, issued by CN=mvmigrate test CA)`,
      `Turn TLS on: pass the CA that issued its certificate with ${CA} (and, if the server requires one, a client certificate with ${CERT} and ${KEY}).`,
    )
    // Nothing was created anywhere: no ledger, no lock, no collection.
    for (const db of [db1, db2]) expect((await db.client.listCollections()).data ?? []).toEqual([])
  })

  it('bad TLS files are refused before connecting (exit 6), naming the file and the option, never their contents', async () => {
    const dir = alterProject()
    const notPem = path.join(dir, 'ca.der')
    fs.writeFileSync(notPem, Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x02, 0x82]))
    const missing = path.join(dir, 'certs', 'nope.pem')
    // An address nothing listens on: these fail before any connection is tried.
    const args = (...a: string[]) => ['--uri', 'https://127.0.0.1:1', ...a, 'status']
    const cases: [string[], string, string][] = [
      [['--tls-ca', missing], `The TLS CA file ${missing} (${CA}) does not exist`, `Check the path given with ${CA}.`],
      [
        ['--tls-ca', notPem],
        `The TLS CA file ${notPem} (${CA}) is not PEM (no "-----BEGIN CERTIFICATE-----" block)`,
        `Convert a DER file to PEM first (openssl x509 -inform der -in <file> -out ca.pem), and give that with ${CA}.`,
      ],
      [
        ['--tls-ca', pki.client.key],
        `The TLS CA file ${pki.client.key} (${CA}) holds a private key, not a certificate`,
        `Give the CA's certificate (a "-----BEGIN CERTIFICATE-----" file) with ${CA}.`,
      ],
      [
        ['--tls-cert', pki.client.cert],
        `A TLS client certificate (${pki.client.cert}) was given without its key`,
        `Mutual TLS needs both: pass the certificate with ${CERT} and its private key with ${KEY}.`,
      ],
      [
        ['--tls-cert', pki.client.cert, '--tls-key', pki.stranger.key],
        `The TLS client key ${pki.stranger.key} (${KEY}) is not the key of the certificate ${pki.client.cert} (${CERT}, CN=mvmigrate-client)`,
        'Pass the private key that was made with that certificate (its request), or the certificate issued for this key.',
      ],
    ]
    const keyText = fs.readFileSync(pki.stranger.key, 'utf8').split('\n')[1]
    for (const [a, message, hint] of cases) {
      const r = await cli(dir, args(...a), { timeoutMs: 20_000 })
      expect(r.stderr, a.join(' ')).toBe(`error: ${message}\nhint: ${hint}\n`)
      expect(r.code).toBe(6)
      expect(r.stderr).not.toContain(keyText)
    }
    const json = await cli(dir, [...args('--tls-ca', missing), '--json'])
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'TLS_FILE_INVALID', exitCode: 6 })
  })
})

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
