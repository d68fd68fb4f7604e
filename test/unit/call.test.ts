import { describe, expect, it } from 'vitest'
import type { MvmError } from '../../src/errors'
import { milvusCall } from '../../src/milvus/call'

/** A call refused as grpc-js reports a connection the server sent away (GOAWAY / ENHANCE_YOUR_CALM). */
const sentAway = () =>
  Object.assign(new Error('8 RESOURCE_EXHAUSTED: Bandwidth exhausted or memory limit exceeded'), {
    code: 8,
    details: 'Bandwidth exhausted or memory limit exceeded',
  })

describe('milvusCall: a connection the server sent away', () => {
  it('is retried, and a call refused on the next attempt goes through', async () => {
    let calls = 0
    const res = await milvusCall('list collections', async () => {
      if (++calls < 3) throw sentAway()
      return { status: { error_code: 'Success' }, data: [] }
    })
    expect(calls).toBe(3)
    expect(res.data).toEqual([])
  })

  it('refused three times: says so, and that the calls were not processed (run again; check the server)', async () => {
    let calls = 0
    const e = await milvusCall('list collections', async () => {
      calls++
      throw sentAway()
    }).then(
      () => undefined,
      (x: unknown) => x as MvmError,
    )
    expect(calls).toBe(3)
    expect({ code: e?.code, message: e?.message, hint: e?.render('cli').hint }).toEqual({
      code: 'MILVUS_ERROR',
      message:
        'list collections: the server sent the connection away 3 times in a row (8 RESOURCE_EXHAUSTED: Bandwidth exhausted or memory limit exceeded)',
      hint: 'The server did not process these calls. Run the command again; if it repeats, check the server for load or limits (message size, keepalive pings).',
    })
  })
})
