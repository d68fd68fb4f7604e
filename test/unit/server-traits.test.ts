import { describe, expect, it } from 'vitest'
import {
  featuresLacking,
  limitsExceeded,
  parseServerVersion,
  upsertOmittingDefaultCrashes,
} from '../../src/milvus/server-traits'
import type { CollectionSpec } from '../../src/schema/spec'

/** What the server's release tells plan and up before anything is created. */
const spec = (over: Partial<CollectionSpec> = {}): CollectionSpec => ({
  name: 'docs',
  fields: [
    { name: 'id', type: 'Int64', primaryKey: true },
    { name: 'v', type: 'FloatVector', dim: 2 },
    { name: 'note', type: 'VarChar', maxLength: 8, nullable: true },
  ],
  enableDynamicField: false,
  functions: [],
  indexes: [],
  partitions: [],
  properties: {},
  aliases: [],
  loaded: false,
  ...over,
})

describe('server releases', () => {
  it('reads the release out of what GetVersion answers on each server', () => {
    expect(parseServerVersion('v2.3.5-lite')).toEqual({ product: 'Milvus', major: 2, minor: 3, patch: 5 })
    expect(parseServerVersion('2.6.1')).toEqual({ product: 'Milvus', major: 2, minor: 6, patch: 1 })
    expect(parseServerVersion('milvus_lite-3.2.2')).toEqual({ product: 'Milvus Lite', major: 3, minor: 2, patch: 2 })
    expect(parseServerVersion('')).toBeUndefined() // Milvus Lite 2.5 has no GetVersion
  })

  it('nullable fields and functions: refused on Milvus before 2.5, kept on 2.5+ and Milvus Lite 3, not judged when unknown', () => {
    const bm25 = spec({ functions: [{ name: 'bm25', type: 'BM25', inputFields: ['note'], outputFields: ['s'] }] })
    expect(featuresLacking(bm25, parseServerVersion('v2.3.5-lite'))).toEqual([
      "nullable fields ('note')",
      "functions ('bm25')",
    ])
    expect(featuresLacking(spec(), parseServerVersion('v2.4.9'))).toEqual(["nullable fields ('note')"])
    expect(featuresLacking(bm25, parseServerVersion('v2.5.0'))).toEqual([])
    expect(featuresLacking(bm25, parseServerVersion('milvus_lite-3.2.2'))).toEqual([])
    expect(featuresLacking(bm25, undefined)).toEqual([])
    expect(featuresLacking(spec({ fields: spec().fields.slice(0, 2) }), parseServerVersion('v2.3.5'))).toEqual([])
  })

  it('limits Milvus before 2.4 refuses outright: one vector field, HNSW only with M and efConstruction', () => {
    const two = spec({
      fields: [...spec().fields, { name: 'w', type: 'FloatVector', dim: 2 }],
      indexes: [
        { field: 'v', type: 'HNSW', metric: 'L2', params: { M: 8, efConstruction: 64 } },
        { field: 'w', type: 'HNSW', metric: 'L2', params: { M: 8 } },
      ],
    })
    expect(limitsExceeded(two, parseServerVersion('v2.3.5-lite')).map((x) => x.problem)).toEqual([
      "allows one vector field per collection, and this one would have 2 ('v', 'w')",
      "builds an HNSW index only with the params M and efConstruction, and the index on 'w' lacks them",
    ])
    expect(limitsExceeded(spec({ indexes: two.indexes.slice(0, 1) }), parseServerVersion('v2.3.5'))).toEqual([])
    expect(limitsExceeded(two, parseServerVersion('v2.4.0'))).toEqual([])
    expect(limitsExceeded(two, parseServerVersion('milvus_lite-3.2.2'))).toEqual([])
    expect(limitsExceeded(two, undefined)).toEqual([])
  })

  it('the 2.3 upsert crash on a left-out defaulted field: every 2.3 release, nothing else', () => {
    expect(upsertOmittingDefaultCrashes(parseServerVersion('v2.3.5-lite'))).toBe(true)
    expect(upsertOmittingDefaultCrashes(parseServerVersion('v2.3.0'))).toBe(true)
    expect(upsertOmittingDefaultCrashes(parseServerVersion('v2.4.0'))).toBe(false)
    expect(upsertOmittingDefaultCrashes(parseServerVersion('milvus_lite-3.2.2'))).toBe(false)
    expect(upsertOmittingDefaultCrashes(undefined)).toBe(false)
  })
})
