import { MvmError, messageOf } from '../errors'

/**
 * The Node SDK reports most failures as a status object in the response instead of throwing, and
 * throws plain status objects (not Errors) from a few calls. Milvus Lite even answers some failures
 * with error_code "Success" and a non-zero `code`. Everything the project sends to Milvus goes
 * through `milvusCall`, which turns all of these into one thrown MvmError.
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
  const okCode = status.code === undefined || status.code === 0
  return okErrorCode && okCode
}

/** gRPC status codes the SDK surfaces in `error.code`. */
const GRPC_UNAVAILABLE = 14
const GRPC_DEADLINE_EXCEEDED = 4
const GRPC_UNAUTHENTICATED = 16
const GRPC_UNIMPLEMENTED = 12

export function translateSdkError(what: string, e: unknown): MvmError {
  if (e instanceof MvmError) return e
  const msg = messageOf(e)
  const grpcCode = (e as { code?: unknown })?.code
  if (grpcCode === GRPC_UNAVAILABLE || grpcCode === GRPC_DEADLINE_EXCEEDED || /ECONNREFUSED|UNAVAILABLE|DEADLINE_EXCEEDED|No connection established/i.test(msg)) {
    return new MvmError('UNREACHABLE', `${what}: the Milvus server did not answer (${msg.split('\n')[0]})`, {
      hint: 'Check that Milvus is running and that --uri / MILVUS_URI points at it.',
      cause: e,
    })
  }
  if (grpcCode === GRPC_UNAUTHENTICATED || /auth|credential|token|password|permission denied/i.test(msg)) {
    return new MvmError('AUTH_FAILED', `${what}: Milvus rejected the credentials (${msg})`, {
      hint: 'Check --token / MILVUS_TOKEN (an API key, or "user:password").',
      cause: e,
    })
  }
  if (grpcCode === GRPC_UNIMPLEMENTED || /UNIMPLEMENTED/.test(msg)) {
    return new MvmError('MILVUS_ERROR', `${what}: this Milvus server does not support the operation (${msg})`, { cause: e })
  }
  return new MvmError('MILVUS_ERROR', `${what}: ${msg}`, { cause: e })
}

export async function milvusCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  let res: T
  try {
    res = await fn()
  } catch (e) {
    throw translateSdkError(what, e)
  }
  const status = statusOf(res)
  if (status && !isSuccess(status)) {
    const reason = status.reason || String(status.error_code)
    if (/database .* (does not exist|not found)/i.test(reason)) {
      throw new MvmError('DATABASE_NOT_FOUND', `${what}: ${reason}`, {
        hint: 'Create the database first, or pass the right --database / MILVUS_DATABASE.',
      })
    }
    throw translateSdkError(what, { ...status, message: reason })
  }
  return res
}
