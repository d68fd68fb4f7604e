import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { type MvmigrateConfig, describeOrigin } from './config/config'
import { type Logger, silentLogger } from './context/logger'
import { ensureLiteInstalled } from './lite/install'
import { type LiteServer, startLiteServer } from './lite/server'
import { MvmError } from './errors'
import { closeClient, connectMilvus } from './milvus/connect'
import { phase } from './util/timings'

/** A live connection, plus the embedded server behind it when mvmigrate started one. */
export interface Session {
  client: MilvusClient
  uri: string
  /** Set when this session started Milvus Lite; close() stops it. */
  lite?: LiteServer
  close(): Promise<void>
}

/** Installs (first time) and starts the embedded Milvus Lite of this config, on `port` or a free loopback port. */
export async function startEmbeddedLite(
  config: MvmigrateConfig,
  log: Logger = silentLogger,
  port = config.lite.port,
  opts: { serving?: boolean } = {},
): Promise<LiteServer> {
  const binary = await ensureLiteInstalled({ venvDir: config.lite.venvDir, python: config.lite.python, log: log.info })
  const lite = await startLiteServer({ binary, dataDir: config.lite.dataDir, port, serving: opts.serving })
  log.debug(`embedded Milvus Lite on ${lite.uri} (data: ${config.lite.dataDir})`)
  return lite
}

/**
 * Connects to the configured Milvus, or, with no uri, installs (first time) and starts the embedded
 * Milvus Lite on a free loopback port. close() always stops what open started.
 */
export async function openSession(config: MvmigrateConfig, log: Logger = silentLogger): Promise<Session> {
  let lite: LiteServer | undefined
  let uri = config.uri
  if (!uri) {
    // The embedded server listens on loopback without TLS: TLS options are for the server at a uri.
    if (config.tls && Object.values(config.tls).some(Boolean))
      log.warn('TLS options are set but no uri is: using the embedded Milvus Lite (loopback, without TLS)')
    lite = await phase('start Milvus Lite', () => startEmbeddedLite(config, log))
    uri = lite.uri
  }
  let client: MilvusClient
  try {
    client = await phase('connect', () =>
      connectMilvus({
        uri: uri!,
        token: config.token,
        username: config.username,
        password: config.password,
        database: config.database,
        tls: lite ? undefined : config.tls,
        connectTimeoutMs: config.connectTimeout * 1000,
      }),
    )
  } catch (e) {
    await lite?.stop()
    throw explainWithConfig(e, config)
  }
  return {
    client,
    uri,
    lite,
    async close() {
      await closeClient(client)
      await lite?.stop()
    },
  }
}

/**
 * A connection failure explained with the config the settings came from. Credentials rejected
 * while the config file reads them from variables that are not set: say which key, which variable
 * and which file, rather than only "check the token". An address, credentials or database the
 * config file gave: the hint names the file and key ("uri in alt.config.ts (environment bad)"),
 * not flags that were not used. A server may accept the connection and refuse the first real call:
 * callers wrap those errors too.
 */
export function explainWithConfig(e: unknown, config: MvmigrateConfig): unknown {
  if (!(e instanceof MvmError)) return e
  const unset = config.unsetVariables ?? []
  if (e.code === 'AUTH_FAILED' && unset.length) {
    const what = unset.map((u) => `${u.key} from process.env.${u.variable}`).join(' and ')
    const vars = unset.map((u) => u.variable).join(' and ')
    return MvmError.wrap(
      e,
      (m) => m,
      () =>
        `${unset[0].file} sets ${what}${config.env ? ` in environment '${config.env}'` : ''}, and ${vars} ${unset.length > 1 ? 'are' : 'is'} not set: set ${vars}, or pass the credentials with {{token}}.`,
    )
  }
  const from = config.fromConfigFile ?? {}
  const template = e.hintTemplate
  if (!template || !['UNREACHABLE', 'AUTH_FAILED', 'DATABASE_NOT_FOUND'].includes(e.code)) return e
  const credentials = from.token
    ? [describeOrigin('token', from.token)]
    : config.token
      ? [] // a token from a flag or MILVUS_TOKEN: {{token}} names those
      : (['username', 'password'] as const).flatMap((k) => (from[k] ? [describeOrigin(k, from[k])] : []))
  const words: Record<string, string | undefined> = {
    uri: from.uri && describeOrigin('uri', from.uri),
    noUri: from.uri && `remove uri from ${from.uri.file} to use the embedded Milvus Lite`,
    token: credentials.length ? credentials.join(' and ') : undefined,
    database: from.database && describeOrigin('database', from.database),
  }
  const hint = template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => words[name] ?? whole)
  return hint === template
    ? e
    : MvmError.wrap(
        e,
        (m) => m,
        () => hint,
      )
}
