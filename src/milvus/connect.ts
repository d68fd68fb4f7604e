import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import { splitCredentials } from '../util/redact'
import { milvusCall, translateSdkError } from './call'
import { type TlsFailureKind, tlsFailure } from './tls-failures'
import { type LoadedTls, type TlsOptions, loadTlsFiles, tlsRequested } from './tls-files'
import { hostPort, probeTls } from './tls-probe'

export interface ConnectionOptions {
  /** http://host:19530, https://... (Zilliz Cloud), or host:port. */
  uri: string
  /** API key, or "user:password". */
  token?: string
  username?: string
  password?: string
  database?: string
  /** Give up connecting after this long (default 15 s). */
  connectTimeoutMs?: number
  /** Per-request deadline once connected (default 10 min: index builds and loads can be slow). */
  requestTimeoutMs?: number
  /** A private CA, a client certificate for mutual TLS, the name the certificate carries: any turns TLS on. */
  tls?: TlsOptions
}

/**
 * The SDK pings every connection every 10 s, idle or not. A gRPC server with default settings (Milvus
 * Lite is one) allows a ping only every 5 minutes without data and answers the third with GOAWAY
 * "too many pings": the next call then fails with RESOURCE_EXHAUSTED. Seen after the session's
 * connection sat idle for a minute while the copy of a large alter ran on the bulk connection.
 * So: no pings on idle connections, and at most one per 5 minutes; calls still have deadlines.
 */
export const KEEPALIVE = { 'grpc.keepalive_time_ms': 300_000, 'grpc.keepalive_permit_without_calls': 0 }

/**
 * Every MilvusClient mvmigrate (and its benches) builds comes from here, so none keeps the SDK's
 * 10 s pings. Without this, a connection left idle for a minute while its process is busy (a
 * synchronous embedding call in a migration, the bench waiting on a child process) had been told
 * GOAWAY "too many pings" by Milvus Lite, and its next call failed with `8 RESOURCE_EXHAUSTED:
 * Bandwidth exhausted or memory limit exceeded` (reproduced: 70 s idle, SDK defaults).
 */
export function newMilvusClient(config: Record<string, unknown> & { address: string }): MilvusClient {
  const channelOptions = { ...(config.channelOptions as Record<string, unknown> | undefined), ...KEEPALIVE }
  return new MilvusClient({ ...config, channelOptions } as never)
}

function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/**
 * Connects and proves the connection works (server version, database exists) within a bounded
 * time, so an unreachable server or a wrong database fails fast with the address in the message.
 */
/**
 * An address the SDK can dial: [http:// | https:// | grpc:// | grpcs://]host[:port]. Checked
 * before the SDK sees it (it would try, print a warning of its own and fail with a DNS error).
 */
function checkAddress(address: string): void {
  const m = /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?\/?$/.exec(address)
  const scheme = m?.[1]
  const port = m?.[3] === undefined ? undefined : Number(m[3])
  if (
    m &&
    (scheme === undefined || /^(https?|grpcs?)$/.test(scheme)) &&
    (port === undefined || (port > 0 && port < 65536))
  )
    return
  throw new MvmError('UNREACHABLE', `'${address}' is not a Milvus address`, {
    hint: 'Give {{uri}} as http://host:19530 (https://... for TLS or Zilliz Cloud; host:port alone works too).',
  })
}

export async function connectMilvus(opts: ConnectionOptions): Promise<MilvusClient> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 15_000
  // Credentials in the uri are taken as username/password; the address in every message has none.
  const split = splitCredentials(opts.uri)
  // 'http://host:19530/' is the same address (the SDK took the slash for part of a DNS name).
  const address = split.uri.replace(/\/$/, '')
  checkAddress(address)
  // The files are checked before anything connects; the SDK gets their contents, and the bulk
  // connection (data-client.ts, a copy of this client's config) the same.
  const secure = tlsRequested(address, opts.tls)
  const files = secure && opts.tls ? loadTlsFiles(opts.tls) : {}
  const client = newMilvusClient({
    address,
    ssl: secure,
    ...(secure
      ? {
          tls: {
            rootCert: files.rootCert,
            certChain: files.certChain,
            privateKey: files.privateKey,
            serverName: files.serverName,
          },
        }
      : {}),
    token: opts.token,
    username: opts.username ?? (opts.token ? undefined : split.username),
    password: opts.password ?? (opts.token ? undefined : split.password),
    database: opts.database,
    timeout: opts.requestTimeoutMs ?? 600_000,
    logLevel: 'error',
  })
  const unreachable = () =>
    new MvmError(
      'UNREACHABLE',
      `Could not reach Milvus at ${address} within ${Math.round(connectTimeoutMs / 1000)} s`,
      {
        hint: 'Check that the server is running and that {{uri}} is its address, or {{noUri}}.',
      },
    )
  try {
    await withDeadline(
      (async () => {
        try {
          await client.connectPromise
        } catch (e) {
          throw translateSdkError(`connect to ${address}`, e)
        }
        // Proves the server answers. One without GetVersion (Milvus Lite 2.5) answers with an empty reply: that is an answer too.
        await milvusCall(`ask ${address} for its version`, () => client.getVersion(), { allowEmpty: true })
        if (opts.database) await ensureDatabase(client, opts.database, address)
      })(),
      connectTimeoutMs,
      unreachable,
    )
  } catch (e) {
    await closeClient(client)
    const tls = await explainTls(e, address, secure, opts.tls, files)
    if (tls) throw tls
    if (e instanceof MvmError && e.code === 'UNREACHABLE' && !e.message.startsWith('Could not reach')) {
      throw new MvmError('UNREACHABLE', `Could not reach Milvus at ${address}: ${e.message.replace(/^.*?: /, '')}`, {
        // The template, not .hint (already in the library's words): the CLI renders its own.
        hint: unreachable().hintTemplate,
        cause: e,
      })
    }
    throw e
  }
  return client
}

/** Failures a TLS probe explains better than gRPC's message. */
const PROBED: TlsFailureKind[] = ['untrusted', 'nameMismatch', 'serverCertInvalid']

/**
 * A failed connection, explained when TLS is the cause: a TLS failure gets the server's
 * certificate (subject, issuer, names) from one handshake of our own; a plain connection that
 * failed without a refusal is tried with TLS, to say "the server speaks TLS" instead of "unreachable".
 */
async function explainTls(
  e: unknown,
  address: string,
  secure: boolean,
  options: TlsOptions | undefined,
  files: LoadedTls,
): Promise<MvmError | undefined> {
  if (!(e instanceof MvmError)) return undefined
  const expectedName = options?.serverName || hostPort(address).host
  if (e.code === 'TLS_FAILED') {
    const kind = e.details?.tls as TlsFailureKind
    const probe = PROBED.includes(kind)
      ? await probeTls(address, { ca: files.rootCert, cert: files.certChain, key: files.privateKey, expectedName })
      : undefined
    const reason = String(e.details?.reason ?? '')
    return tlsFailure(kind, { address, reason, ca: options?.ca, expectedName, tls: files, probe, cause: e })
  }
  const refused = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN/
  if (!secure && e.code === 'UNREACHABLE' && !e.message.startsWith('Could not reach') && !refused.test(e.message)) {
    const probe = await probeTls(address, { expectedName })
    if (probe.speaksTls) return tlsFailure('plainToTls', { address, reason: '', probe, cause: e })
  }
  return undefined
}

async function ensureDatabase(client: MilvusClient, database: string, address: string): Promise<void> {
  if (database === 'default') return // every server has it, also one without databases at all
  let res
  try {
    res = await milvusCall(`list databases on ${address}`, () => client.listDatabases(), { rpc: 'ListDatabases' })
  } catch (e) {
    if (!(e instanceof MvmError && e.code === 'UNSUPPORTED_BY_SERVER')) throw e
    throw new MvmError(
      'DATABASE_NOT_FOUND',
      `Cannot use database '${database}' on ${address}: the server has no databases (it does not implement ListDatabases)`,
      {
        hint: "Leave {{database}} out (or use 'default') on this server.",
      },
    )
  }
  if (!(res.db_names ?? []).includes(database)) {
    throw new MvmError(
      'DATABASE_NOT_FOUND',
      `Database '${database}' does not exist on ${address} (it has: ${(res.db_names ?? []).join(', ') || 'none'})`,
      {
        // mvmigrate creates no databases: say how, in the tools a user has (the SDK, pymilvus).
        hint: `Create it first (createDatabase({ db_name: '${database}' }) with the Milvus SDK, create_database('${database}') with pymilvus), or pass the right {{database}}.`,
      },
    )
  }
}

/** Closes a client without hanging: closing a channel to a server that never answered can block. */
export async function closeClient(client: MilvusClient, waitMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    client.closeConnection().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs)
      timer.unref()
    }),
  ])
  clearTimeout(timer)
}
