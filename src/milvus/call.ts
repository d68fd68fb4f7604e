import { MvmError, messageOf } from '../errors'
import { recordCall, timingsEnabled } from '../util/timings'
import { classifyTlsFailure, tlsFailure, tlsReason } from './tls-failures'

/**
 * The Node SDK reports most failures as a status object in the response instead of throwing, and
 * throws plain status objects (not Errors) from a few calls. Some servers (Milvus Lite) answer
 * failures with error_code "Success" and a non-zero `code`, so a status is judged by both. And the
 * SDK's retry interceptor turns a gRPC UNIMPLEMENTED into an OK with an empty reply `{}`: a call
 * the server does not have "succeeds" and does nothing. Everything the project sends to Milvus
 * goes through `milvusCall`, which turns all of these into one thrown MvmError.
 */
interface StatusLike {
  error_code?: string | number
  code?: number
  reason?: string
}

function statusOf(res: unknown): StatusLike | undefined {
  if (!res || typeof res !== 'object') return undefined
  const o = res as Record<string, unknown>
  if ('error_code' in o || ('code' in o && 'reason' in o)) return o as StatusLike
  if (o.status && typeof o.status === 'object') return o.status as StatusLike
  return undefined
}

export function isSuccess(status: StatusLike): boolean {
  const ec = status.error_code
  const okErrorCode = ec === undefined || ec === 'Success' || ec === 0
  const okCode = status.code === undefined || status.code === 0 || (status.code as unknown) === '0'
  return okErrorCode && okCode
}

/** A reply with no status at all: what the SDK makes of a gRPC UNIMPLEMENTED. */
export function isEmptyReply(res: unknown): boolean {
  return !!res && typeof res === 'object' && !Array.isArray(res) && statusOf(res) === undefined
}

/** gRPC status codes the SDK surfaces in `error.code`. */
const GRPC_UNAVAILABLE = 14
const GRPC_DEADLINE_EXCEEDED = 4
const GRPC_UNAUTHENTICATED = 16
const GRPC_UNIMPLEMENTED = 12

export function unsupported(
  what: string,
  rpc: string | undefined,
  detail = 'it answered with an empty reply',
): MvmError {
  return new MvmError(
    'UNSUPPORTED_BY_SERVER',
    `${what}: the server does not implement ${rpc ?? 'this call'} (${detail})`,
    {
      hint: 'This Milvus server lacks an operation mvmigrate needs for this step; nothing after it was done. Use a Milvus server that has it (2.4 or newer for renames, aliases and properties).',
    },
  )
}

export function translateSdkError(what: string, e: unknown, rpc?: string): MvmError {
  if (e instanceof MvmError) return e
  const msg = messageOf(e)
  const grpcCode = (e as { code?: unknown })?.code
  // gRPC reports a failed TLS handshake as UNAVAILABLE: told apart first, it is not "not running".
  const tls = classifyTlsFailure(msg)
  if (tls) return tlsFailure(tls, { address: 'the server', reason: tlsReason(msg), cause: e }, what)
  if (
    grpcCode === GRPC_UNAVAILABLE ||
    grpcCode === GRPC_DEADLINE_EXCEEDED ||
    /ECONNREFUSED|UNAVAILABLE|DEADLINE_EXCEEDED|No connection established/i.test(msg)
  ) {
    // grpc-js ends its message with "Resolution note: " and nothing after it when the name resolved.
    const said = msg.split('\n')[0].replace(/\s*Resolution note:\s*(\(|$)/, (_, paren: string) => (paren ? ' (' : ''))
    return new MvmError('UNREACHABLE', `${what}: the Milvus server did not answer (${said})`, {
      hint: 'Check that Milvus is running and that {{uri}} points at it.',
      cause: e,
    })
  }
  if (grpcCode === GRPC_UNAUTHENTICATED || /auth|credential|token|password|permission denied/i.test(msg)) {
    return new MvmError('AUTH_FAILED', `${what}: Milvus rejected the credentials (${msg})`, {
      hint: 'Check {{token}}: an API key, or "user:password".',
      cause: e,
    })
  }
  if (grpcCode === GRPC_UNIMPLEMENTED || /UNIMPLEMENTED/.test(msg)) return unsupported(what, rpc, msg)
  return new MvmError('MILVUS_ERROR', `${what}: ${msg}`, { cause: e })
}

export interface CallOptions {
  /** The RPC's name, for the message when the server does not implement it (e.g. 'RenameCollection'). */
  rpc?: string
  /** Accept a reply without a status (a call whose reply carries none). Default false. */
  allowEmpty?: boolean
}

/**
 * A call the server refused because it had sent the connection away (HTTP/2 GOAWAY or RST_STREAM
 * with ENHANCE_YOUR_CALM, which grpc-js reports as RESOURCE_EXHAUSTED "Bandwidth exhausted"): seen
 * on Milvus Lite for the first call after a migration blocked the event loop for a minute in its
 * own code. A refused stream was not processed, and the next attempt opens a new connection.
 */
function sentAway(e: unknown): boolean {
  const err = e as { code?: number; details?: string; message?: string }
  return (
    err?.code === 8 &&
    /Bandwidth exhausted|too many pings|excess pings/i.test(`${err.details ?? ''} ${err.message ?? ''}`)
  )
}

/** Told of every Milvus call as it ends: what it was, how long it took, and the error's first line if it failed. */
export type CallTracer = (what: string, ms: number, failure?: string) => void
let tracer: CallTracer | undefined

/** Reports every Milvus call made in this process to `t` (the CLI's --verbose); no argument stops it. */
export function traceMilvusCalls(t?: CallTracer): void {
  tracer = t
}

export async function milvusCall<T>(what: string, fn: () => Promise<T>, opts: CallOptions = {}): Promise<T> {
  let res: T
  const t0 = timingsEnabled() || tracer ? performance.now() : 0
  let failure: string | undefined
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        res = await fn()
        break
      } catch (e) {
        if (attempt < 3 && sentAway(e)) {
          await new Promise((r) => setTimeout(r, 250 * attempt))
          continue
        }
        failure = messageOf(e).split('\n')[0]
        if (sentAway(e))
          throw new MvmError(
            'MILVUS_ERROR',
            `${what}: the server sent the connection away ${attempt} times in a row (${messageOf(e).split('\n')[0]})`,
            {
              hint: 'The server did not process these calls. Run the command again; if it repeats, check the server for load or limits (message size, keepalive pings).',
              cause: e,
            },
          )
        throw translateSdkError(what, e, opts.rpc)
      }
    }
  } finally {
    const ms = t0 ? performance.now() - t0 : 0
    if (t0 && timingsEnabled()) recordCall(opts.rpc ?? what.split(' ')[0], ms)
    tracer?.(what, ms, failure)
  }
  const status = statusOf(res)
  if (!status) {
    if (!opts.allowEmpty && isEmptyReply(res)) throw unsupported(what, opts.rpc)
    return res
  }
  if (!isSuccess(status)) {
    const reason = status.reason || String(status.error_code)
    if (/database .* (does not exist|not found)/i.test(reason)) {
      throw new MvmError('DATABASE_NOT_FOUND', `${what}: ${reason}`, {
        hint: 'Create the database first, or pass the right {{database}}.',
      })
    }
    // Only the reason: a server's own error code (100, 1100, ...) is not a gRPC code.
    throw translateSdkError(what, { message: reason }, opts.rpc)
  }
  return res
}
