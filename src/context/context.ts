import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { AlterBuilder, AlterOptions, DeclarativeAlter } from '../alter/builder'
import { AlterSummary, resolveName, revertAlter, runAlter } from '../alter/engine'
import { opsFromDeclarative } from '../alter/plan'
import { MvmError } from '../errors'
import { Journal } from '../ledger/journal'
import { milvusCall } from '../milvus/call'
import { createCollectionFromSpec, createIndex } from '../milvus/create'
import { describeCollectionSpec } from '../milvus/describe'
import { CollectionDefinition, IndexDefinition, specFromDefinition } from '../schema/definition'
import { CollectionSpec } from '../schema/spec'
import { Logger } from './logger'

/** SDK methods that only read; every other call may change something. */
export const READ_ONLY_CALL = /^(describe|has|list|get|query|count|search|show|check|connect|closeConnection|invalidateCollectionInfo)/

export interface MigrationInfo {
  version: string
  name: string
  /** Path of the migration file; error messages name it. */
  file: string
}

/**
 * What a migration's up()/down() receives: typed helpers over the Milvus client that throw on
 * failure (the SDK itself often returns an error status instead), a logger, and the raw client.
 * Copy-and-swap schema changes (ctx.alter) hang off this class too.
 */
export class MigrationContext {
  /** The raw Milvus client: the escape hatch for anything the helpers do not cover. */
  readonly client: MilvusClient
  /** True once this migration sent Milvus anything but a read (helpers or raw client). */
  changedSomething = false

  constructor(
    client: MilvusClient,
    readonly migration: MigrationInfo,
    readonly log: Logger,
    private readonly journal: Journal = new Journal(client),
    /** Defaults for every ctx.alter of this run (e.g. `up --verify full`); a migration's own options win. */
    private readonly alterDefaults: AlterOptions = {},
  ) {
    // Watch the client so a migration that fails on bad input before changing anything is not
    // recorded as a failed run (the CLI then says nothing changed, exit 8).
    this.client = new Proxy(client, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver)
        if (typeof value !== 'function') return value
        if (typeof prop === 'string' && !READ_ONLY_CALL.test(prop)) {
          return (...args: unknown[]) => {
            this.changedSomething = true
            return (value as (...a: unknown[]) => unknown).apply(target, args)
          }
        }
        return value.bind(target)
      },
    })
  }

  /**
   * A schema change Milvus cannot make in place, as copy-and-swap: a new collection with the
   * changed schema, every row copied and transformed, verified, then swapped in under the name
   * (or behind the alias). The old collection is kept as a backup. Accepts a builder callback or
   * the declarative form { schema: [...] }. Returns rows copied, time and the backup's name.
   */
  async alter(name: string, change: ((t: AlterBuilder) => unknown) | DeclarativeAlter, options: AlterOptions = {}): Promise<AlterSummary> {
    let ops
    if (typeof change === 'function') {
      const builder = new AlterBuilder()
      await change(builder)
      ops = builder.ops
    } else {
      const problems: string[] = []
      const resolved = await resolveName(this.client, name)
      if (!resolved) throw new MvmError('MIGRATION_INVALID', `${this.where()}cannot alter '${name}': no such collection or alias`, { hint: 'Nothing was changed.' })
      ops = opsFromDeclarative(await describeCollectionSpec(this.client, resolved.collection), change, problems, `${this.where()}alter '${name}': `)
      if (problems.length) throw new MvmError('MIGRATION_INVALID', `Cannot alter '${name}':\n  ${problems.join('\n  ')}`, { hint: 'Fix the schema list in the migration file. Nothing was changed.' })
    }
    const merged = { ...Object.fromEntries(Object.entries(this.alterDefaults).filter(([, v]) => v !== undefined)), ...options }
    return runAlter({ client: this.client, migration: this.migration, log: this.log, journal: this.journal }, name, ops, merged)
  }

  /** Undoes this migration's alter of `name` by swapping its backup back in (no copy). */
  async revertAlter(name: string): Promise<void> {
    await revertAlter({ client: this.client, migration: this.migration, log: this.log, journal: this.journal }, name)
  }

  private where(): string {
    return `${this.migration.file}: `
  }

  /** Creates a collection with its fields, indexes, partitions, properties and functions; loads it when every vector field is indexed. */
  async createCollection(def: CollectionDefinition): Promise<CollectionSpec> {
    const { spec, problems } = specFromDefinition(def, this.where())
    if (problems.length) {
      throw new MvmError('MIGRATION_INVALID', `Invalid collection definition:\n  ${problems.join('\n  ')}`, {
        hint: 'Fix the definition in the migration file. Nothing was created.',
      })
    }
    if (await this.hasCollection(spec.name)) {
      throw new MvmError('MIGRATION_INVALID', `${this.where()}collection '${spec.name}' already exists`, {
        hint: 'Drop or rename it first, or change the migration.',
      })
    }
    await createCollectionFromSpec(this.client, spec)
    this.log.info(`created collection ${spec.name}`)
    return spec
  }

  async hasCollection(name: string): Promise<boolean> {
    const res = await milvusCall(`check collection '${name}'`, () => this.client.hasCollection({ collection_name: name }))
    return !!res.value
  }

  /** The live collection as a CollectionSpec: fields, indexes, partitions, properties, aliases, load state. */
  async describeCollection(name: string): Promise<CollectionSpec> {
    return describeCollectionSpec(this.client, name)
  }

  async dropCollection(name: string, opts: { ifExists?: boolean } = {}): Promise<void> {
    if (!(await this.hasCollection(name))) {
      if (opts.ifExists) return
      throw new MvmError('MILVUS_ERROR', `${this.where()}cannot drop collection '${name}': it does not exist`, {
        hint: 'Pass { ifExists: true } to ignore a missing collection.',
      })
    }
    await milvusCall(`drop collection '${name}'`, () => this.client.dropCollection({ collection_name: name }))
    this.log.info(`dropped collection ${name}`)
  }

  async renameCollection(from: string, to: string): Promise<void> {
    await milvusCall(`rename collection '${from}' to '${to}'`, () => this.client.renameCollection({ collection_name: from, new_collection_name: to }))
    // The SDK caches describe results by name (used by search); a renamed name must not hit them.
    const sdk = this.client as unknown as { invalidateCollectionInfo?: (d: object) => void }
    sdk.invalidateCollectionInfo?.({ collection_name: from })
    sdk.invalidateCollectionInfo?.({ collection_name: to })
    this.log.info(`renamed collection ${from} -> ${to}`)
  }

  async createIndex(collection: string, index: IndexDefinition): Promise<void> {
    await createIndex(this.client, collection, index)
  }

  /**
   * Drops an index. Milvus refuses to drop an index of a loaded collection, so a loaded collection
   * is released for the drop and loaded again (it cannot serve searches in between).
   */
  async dropIndex(collection: string, indexName: string): Promise<void> {
    const drop = () => milvusCall(`drop index '${indexName}' on '${collection}'`, () => this.client.dropIndex({ collection_name: collection, index_name: indexName }))
    try {
      await drop()
    } catch (e) {
      if (!(e instanceof MvmError && /loaded|release/i.test(e.message))) throw e
      this.log.warn(`releasing '${collection}' to drop index '${indexName}'; it is loaded again afterwards`)
      await this.releaseCollection(collection)
      await drop()
      await this.loadCollection(collection)
    }
  }

  async createPartition(collection: string, partition: string): Promise<void> {
    await milvusCall(`create partition '${partition}' in '${collection}'`, () => this.client.createPartition({ collection_name: collection, partition_name: partition }))
  }

  async dropPartition(collection: string, partition: string): Promise<void> {
    await milvusCall(`drop partition '${partition}' of '${collection}'`, () => this.client.dropPartition({ collection_name: collection, partition_name: partition }))
  }

  /** Collection properties, e.g. { 'collection.ttl.seconds': 86400, 'mmap.enabled': true }. */
  async setProperties(collection: string, properties: Record<string, string | number | boolean>): Promise<void> {
    await milvusCall(`set properties of '${collection}'`, () => this.client.alterCollectionProperties({ collection_name: collection, properties }))
  }

  async createAlias(collection: string, alias: string): Promise<void> {
    await milvusCall(`create alias '${alias}' -> '${collection}'`, () => this.client.createAlias({ collection_name: collection, alias }))
  }

  async alterAlias(collection: string, alias: string): Promise<void> {
    await milvusCall(`point alias '${alias}' at '${collection}'`, () => this.client.alterAlias({ collection_name: collection, alias }))
  }

  async dropAlias(alias: string): Promise<void> {
    await milvusCall(`drop alias '${alias}'`, () => this.client.dropAlias({ alias }))
  }

  async loadCollection(collection: string): Promise<void> {
    await milvusCall(`load '${collection}'`, () => this.client.loadCollection({ collection_name: collection }))
  }

  async releaseCollection(collection: string): Promise<void> {
    await milvusCall(`release '${collection}'`, () => this.client.releaseCollection({ collection_name: collection }))
  }

  /** Inserts rows (seed data, lookup tables). Int64 values may be given as strings to keep precision. */
  async insert(collection: string, rows: Record<string, unknown>[], opts: { partition?: string } = {}): Promise<number> {
    const res = await milvusCall(`insert into '${collection}'`, () =>
      this.client.insert({ collection_name: collection, data: rows, ...(opts.partition ? { partition_name: opts.partition } : {}) } as never),
    )
    if (res.err_index?.length) throw new MvmError('MILVUS_ERROR', `insert into '${collection}': ${res.err_index.length} of ${rows.length} rows were rejected`)
    return Number(res.insert_cnt)
  }
}
