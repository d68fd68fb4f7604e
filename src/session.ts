import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import type { MvmigrateConfig } from './config/config'
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
    throw explainUnsetVariables(e, config)
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
 * Credentials rejected while the config file reads them from variables that are not set: say
 * which key, which variable and which file, rather than only "check the token". A server may
 * accept the connection and refuse the first real call: callers wrap those errors too.
 */
export function explainUnsetVariables(e: unknown, config: MvmigrateConfig): unknown {
  const unset = config.unsetVariables ?? []
  if (!(e instanceof MvmError) || e.code !== 'AUTH_FAILED' || !unset.length) return e
  const what = unset.map((u) => `${u.key} from process.env.${u.variable}`).join(' and ')
  const vars = unset.map((u) => u.variable).join(' and ')
  return MvmError.wrap(
    e,
    (m) => m,
    () =>
      `${unset[0].file} sets ${what}${config.env ? ` in environment '${config.env}'` : ''}, and ${vars} ${unset.length > 1 ? 'are' : 'is'} not set: set ${vars}, or pass the credentials with {{token}}.`,
  )
}
