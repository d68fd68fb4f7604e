import { afterAll, describe, expect, it } from 'vitest'
import { loadCollection } from '../../src/milvus/collections'
import { fileDatabases, milvusUri } from '../helpers/milvus'
import { cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'

/**
 * Where a command's time goes (MVMIGRATE_TIMINGS=1, docs/performance.md), and the load that no
 * longer waits 400 ms when nothing is left to wait for.
 */
const databases = fileDatabases()
afterAll(() => databases.dropAll())

/** `timing <phase> <ms> ms  (RPC xN ms, ...)` lines: phase -> the rest of the line. */
function phases(stderr: string): Map<string, { ms: number; calls: string }> {
  const out = new Map<string, { ms: number; calls: string }>()
  for (const m of stderr.matchAll(/^timing (.+?)\s+(\d+) ms(.*)$/gm))
    out.set(m[1], { ms: Number(m[2]), calls: m[3].trim() })
  return out
}

describe('MVMIGRATE_TIMINGS=1', () => {
  it('prints each phase of a command, with its Milvus calls, on stderr after the command; stdout is unchanged', async () => {
    const { database } = await databases.fresh('timings')
    const dir = tempProject({ uri: milvusUri(), database })
    writeMigration(dir, '20260101000000_create_docs.ts', createCollectionMigration('docs'))
    const up = await cli(dir, ['up', '--json'], { env: { MVMIGRATE_TIMINGS: '1' } })
    expect(up.code, up.stderr).toBe(0)
    expect(JSON.parse(up.stdout).migrations.map((m: { name: string }) => m.name)).toEqual(['create_docs'])
    const p = phases(up.stderr)
    expect([...p.keys()]).toEqual([
      'node start',
      'load modules',
      'config',
      'connect',
      'lock',
      'ledger',
      'load migration files',
      'migrations',
      'snapshot',
      'unlock',
      'close',
      'other (parsing, output)',
      'total',
    ])
    expect(p.get('lock')!.calls).toMatch(/CreateCollection x1 \d+ ms/)
    expect(p.get('migrations')!.calls).toMatch(/CreateCollection x1 \d+ ms/)
    const total = p.get('total')!.ms
    const sum = [...p].filter(([k]) => k !== 'total').reduce((s, [, v]) => s + v.ms, 0)
    expect(Math.abs(sum - total)).toBeLessThanOrEqual(p.size) // rounding of each phase
    // Off by default: not a line of it.
    const status = await cli(dir, ['status'])
    expect(status.code, status.stderr).toBe(0)
    expect(status.stderr).not.toContain('timing ')
  })
})

describe('loading a collection', () => {
  it('returns once the collection is loaded, every row readable, checking progress at once (no fixed 400 ms sleep)', async () => {
    const { client } = await databases.fresh('load')
    await client.createCollection({
      collection_name: 'c',
      fields: [
        { name: 'id', data_type: 5, is_primary_key: true },
        { name: 'v', data_type: 101, dim: 2 },
      ],
    })
    await client.createIndex({ collection_name: 'c', field_name: 'v', index_type: 'FLAT', metric_type: 'L2' })
    await client.insert({
      collection_name: 'c',
      data: Array.from({ length: 100 }, (_, i) => ({ id: i + 1, v: [i, 1] })),
    })
    await client.flushSync({ collection_names: ['c'] })
    await client.releaseCollection({ collection_name: 'c' })
    const calls: string[] = []
    const spied = new Proxy(client, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver)
        return typeof v === 'function' && typeof key === 'string'
          ? (...a: unknown[]) => (calls.push(key), v.apply(target, a))
          : v
      },
    })
    await loadCollection(spied, 'c')
    expect(String((await client.getLoadState({ collection_name: 'c' })).state)).toBe('LoadStateLoaded')
    const rows = await client.query({
      collection_name: 'c',
      filter: 'id > 0',
      output_fields: ['id'],
      consistency_level: 'Strong',
    } as never)
    expect(rows.data).toHaveLength(100)
    // The SDK's own loadCollection (which sleeps 400 ms after each check) is not used.
    expect(calls[0]).toBe('loadCollectionAsync')
    expect(calls).not.toContain('loadCollection')
    expect(calls.slice(1).every((c) => c === 'getLoadingProgress')).toBe(true)
  })
})
