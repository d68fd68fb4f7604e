import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import type { AlterOptions } from '../alter/builder'
import { type AlterContext, type AlterSummary, resumeAlter, runAlter } from '../alter/engine'
import { type AlterChange, prepareAlter } from '../alter/prepare'
import { type RevertOptions, type RevertSummary, revertAlter } from '../alter/revert'
import { MvmError } from '../errors'
import { Journal } from '../ledger/journal'
import type { MigrationInfo } from '../migrations/info'
import * as collections from '../milvus/collections'
import { createCollectionFromSpec, createIndex } from '../milvus/create'
import { describeCollectionSpec } from '../milvus/describe'
import { insertRows } from '../milvus/rows'
import { RAW_CLIENT, requireFeatures } from '../milvus/server-traits'
import { comparable } from '../declarative/live'
import { type CollectionDefinition, type IndexDefinition, specFromDefinition } from '../schema/definition'
import { diffCollection } from '../schema/diff'
import type { CollectionSpec } from '../schema/spec'
import { didYouMean } from '../util/suggest'
import { type CallTracker, READ_ONLY_CALL, noteWrite, tracked } from './call-tracker'
import type { Logger } from './logger'
import type { StopPoint } from '../util/interrupt'

export type { MigrationInfo } from '../migrations/info'

/** SDK methods that only read; every other call may change something. */

export interface ContextOptions {
  journal?: Journal
  /** Defaults for every ctx.alter of this run (e.g. `up --verify full`); a migration's own options win. */
  alterDefaults?: AlterOptions
  /** How ctx.revertAlter treats rows written since the alter (set by `down --carry-writes` / `--discard-writes`). */
  revert?: Omit<RevertOptions, 'checked'> & { checked?: Map<string, NonNullable<RevertOptions['checked']>> }
  /** Tracks every call so a missing `await` fails the migration (set by the Migrator). */
  tracker?: CallTracker
  /** 'down' while the migration's down() runs: its alters are journalled apart from up()'s. */
  direction?: 'up' | 'down'
  /** Aborted (Ctrl-C): alters stop at their last written page, with a checkpoint. */
  signal?: AbortSignal
  /** Where the run is when a signal comes (set by the Migrator): an alter's swap cannot stop half-way. */
  stopPoint?: StopPoint
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
  /** The client the helpers use: watched for changes, never refused by the call tracker. */
  protected readonly sdk: MilvusClient
  protected readonly journal: Journal

  constructor(
    client: MilvusClient,
    readonly migration: MigrationInfo,
    readonly log: Logger,
    protected readonly options: ContextOptions = {},
  ) {
    this.journal = options.journal ?? new Journal(client)
    // Watch the client so a migration that fails on bad input before changing anything is not
    // recorded as a failed run (the CLI then says nothing changed, exit 8).
    this.sdk = new Proxy(client, {
      get: (target, prop, receiver) => {
        if (prop === RAW_CLIENT) return target
        const value = Reflect.get(target, prop, receiver)
        if (typeof value !== 'function') return value
        if (typeof prop === 'string' && !READ_ONLY_CALL.test(prop)) {
          return (...args: unknown[]) => {
            this.changedSomething = true
            noteWrite()
            return (value as (...a: unknown[]) => unknown).apply(target, args)
          }
        }
        return value.bind(target)
      },
    })
    const tracker = options.tracker
    this.client = tracker ? tracked(this.sdk, 'ctx.client', tracker, (m) => !READ_ONLY_CALL.test(m)) : this.sdk
  }

  protected alterContext(): AlterContext {
    return {
      client: this.sdk,
      migration: this.migration,
      log: this.log,
      journal: this.journal,
      direction: this.options.direction ?? 'up',
      signal: this.options.signal,
      stopPoint: this.options.stopPoint,
    }
  }

  protected where(): string {
    return `${this.migration.file}: `
  }

  /**
   * A schema change Milvus cannot make in place, as copy-and-swap: a new collection with the
   * changed schema, every row copied and transformed, verified, then swapped in under the name
   * (or behind the alias). The old collection is kept as a backup. Accepts a builder callback or
   * the declarative form { schema: [...] }. Returns rows copied, time and the backup's name.
   */
  async alter(name: string, change: AlterChange, options: AlterOptions = {}): Promise<AlterSummary> {
    this.refuseSecondAlter(name)
    const ctx = this.alterContext()
    const resumed = await resumeAlter(ctx, name)
    if (resumed) return this.finished(resumed)
    const resolved = await collections.resolveName(this.sdk, name)
    if (!resolved) {
      const names = await collections.listCollectionNames(this.sdk)
      const near = names.filter((n) => !n.startsWith('_migrations') && !n.includes('__mvm_'))
      throw new MvmError(
        'MIGRATION_INVALID',
        `${this.where()}cannot alter '${name}': no such collection or alias${didYouMean(name, near)}`,
        { hint: 'Check the name. Nothing was changed.' },
      )
    }
    const merged = {
      ...Object.fromEntries(Object.entries(this.options.alterDefaults ?? {}).filter(([, v]) => v !== undefined)),
      ...options,
    }
    const source = await describeCollectionSpec(this.sdk, resolved.collection)
    const plan = await prepareAlter(source, change, merged, this.migration.file, name)
    return this.finished(await runAlter(ctx, name, resolved, plan, merged))
  }

  /** The alters this migration ran, as they reported (the run's result lists them). */
  readonly alterSummaries: AlterSummary[] = []

  private finished(summary: AlterSummary): AlterSummary {
    this.alterSummaries.push(summary)
    return this.altered(summary)
  }

  private readonly alteredNames = new Set<string>()

  /**
   * One alter per name per run: the journal records one alter of a name by a migration's up() (and
   * one by its down()), which is how a rerun after a crash knows what is done. A second alter of
   * the same name would find the first recorded as done and do nothing.
   */
  protected refuseSecondAlter(name: string): void {
    if (this.alteredNames.has(name))
      throw new MvmError(
        'MIGRATION_INVALID',
        `${this.where()}alters '${name}' twice: a migration can alter a collection once in up() and once in down()`,
        {
          hint: `Make the second alter of '${name}' a new migration ({{makeNew}}). An alter that ran before this error stays done and recorded: running this migration again skips it, so do not merge the second alter into it.`,
        },
      )
  }

  /** Records a finished (or planned) alter of a name in this run. */
  protected altered<T extends { name: string }>(summary: T): T {
    this.alteredNames.add(summary.name)
    return summary
  }

  /** Undoes this migration's alter of `name` by swapping its backup back in (no copy). */
  async revertAlter(name: string): Promise<RevertSummary> {
    const opts = this.options.revert ?? {}
    const summary = await revertAlter(this.alterContext(), name, { ...opts, checked: opts.checked?.get(name) })
    // What the undo found (checked again when a newer alter's undo changed the collection): the run reports it.
    if (summary.writes) opts.checked?.set(name, summary.writes)
    return summary
  }

  /**
   * Creates a collection with its fields, indexes, partitions, properties and functions; loads it
   * when every vector field is indexed. With `ifNotExists`, a collection of that name with the same
   * schema is left as it is (a retried migration meets the one its first run created); one with
   * another schema is an error naming what differs.
   */
  async createCollection(def: CollectionDefinition, opts: { ifNotExists?: boolean } = {}): Promise<CollectionSpec> {
    const { spec, problems } = specFromDefinition(def, this.where())
    if (problems.length) {
      throw new MvmError('MIGRATION_INVALID', `Invalid collection definition:\n  ${problems.join('\n  ')}`, {
        hint: 'Fix the definition in the migration file. Nothing was created.',
      })
    }
    if (await this.hasCollection(spec.name)) {
      if (opts.ifNotExists) {
        const live = await describeCollectionSpec(this.sdk, spec.name)
        this.refuseOtherSchema(live, spec, def)
        this.log.info(`collection ${spec.name} exists with this schema: left as it is (ifNotExists)`)
        return live
      }
      throw new MvmError('MIGRATION_INVALID', `${this.where()}collection '${spec.name}' already exists`, {
        hint: 'Drop or rename it first, or change the migration (createCollection(def, { ifNotExists: true }) leaves one with the same schema as it is).',
      })
    }
    // What plan checks too: a server that would drop part of the definition refuses it before creating.
    await requireFeatures(this.sdk, spec, `${this.where()}cannot create collection '${spec.name}' on this server`)
    await createCollectionFromSpec(this.sdk, spec)
    for (const alias of def.aliases ?? []) await collections.createAlias(this.sdk, spec.name, alias)
    this.log.info(`created collection ${spec.name}`)
    return { ...spec, aliases: [...(def.aliases ?? [])] }
  }

  /** createCollection(def, { ifNotExists }) met a collection of that name: it must have the schema def asks for. */
  protected refuseOtherSchema(live: CollectionSpec, spec: CollectionSpec, def: CollectionDefinition): void {
    // What rows it holds and how they are indexed; not the description, shards, consistency level
    // or number of partition-key partitions, which servers report otherwise than they were given
    // (Milvus Lite keeps no description and makes its own partitions) and no alter changes.
    const wanted: CollectionSpec = {
      ...spec,
      aliases: def.aliases ?? live.aliases,
      // Properties the definition does not name may have been set by a later step of a first run
      // (setProperties): a retry meets them. Those it names must hold its values.
      properties: { ...live.properties, ...spec.properties },
      description: undefined,
      shards: undefined,
      consistencyLevel: undefined,
      numPartitions: undefined,
    }
    const differences = diffCollection(comparable(live), comparable(wanted), { partial: true })
    if (!differences.length) return
    throw new MvmError(
      'MIGRATION_INVALID',
      `${this.where()}collection '${spec.name}' already exists with another schema than createCollection(def, { ifNotExists: true }) asks for: ${differences.map((d) => d.text).join('; ')}`,
      {
        hint: `ifNotExists leaves only a collection with the same schema as it is. Make the definition match it, change it with ctx.alter('${spec.name}', ...) in a new migration, or drop it first.`,
        details: { collection: spec.name, differences: differences.map((d) => d.text) },
      },
    )
  }

  async hasCollection(name: string): Promise<boolean> {
    return collections.collectionExists(this.sdk, name)
  }

  /** The live collection as a CollectionSpec: fields, indexes, partitions, properties, aliases, load state. */
  async describeCollection(name: string): Promise<CollectionSpec> {
    return describeCollectionSpec(this.sdk, name)
  }

  async dropCollection(name: string, opts: { ifExists?: boolean } = {}): Promise<void> {
    if (!(await this.hasCollection(name))) {
      if (opts.ifExists) return
      throw new MvmError('MILVUS_ERROR', `${this.where()}cannot drop collection '${name}': it does not exist`, {
        hint: 'Pass { ifExists: true } to ignore a missing collection.',
      })
    }
    await collections.dropCollection(this.sdk, name)
    this.log.info(`dropped collection ${name}`)
  }

  async renameCollection(from: string, to: string): Promise<void> {
    await collections.renameCollection(this.sdk, from, to)
    this.log.info(`renamed collection ${from} -> ${to}`)
  }

  async createIndex(collection: string, index: IndexDefinition): Promise<void> {
    await createIndex(this.sdk, collection, index)
  }

  /**
   * Drops an index. Milvus refuses to drop an index of a loaded collection, so a loaded collection
   * is released for the drop and loaded again (it cannot serve searches in between).
   */
  async dropIndex(collection: string, indexName: string): Promise<void> {
    const drop = () => collections.dropIndex(this.sdk, collection, indexName)
    try {
      await drop()
    } catch (e) {
      if (!(e instanceof MvmError && /loaded|release/i.test(e.message))) throw e
      this.log.warn(`releasing '${collection}' to drop index '${indexName}'; it is loaded again afterwards`)
      await collections.releaseCollection(this.sdk, collection)
      await drop()
      await collections.loadCollection(this.sdk, collection)
    }
  }

  /**
   * Replaces an index (another type or parameters) in place: the collection is released while the
   * index is rebuilt when it is loaded (Milvus requires that), and loaded again afterwards.
   */
  async replaceIndex(collection: string, indexName: string, index: IndexDefinition): Promise<void> {
    const wasLoaded = await collections.isLoaded(this.sdk, collection)
    if (wasLoaded) await collections.releaseCollection(this.sdk, collection)
    await collections.dropIndex(this.sdk, collection, indexName)
    await createIndex(this.sdk, collection, index)
    if (wasLoaded) await collections.loadCollection(this.sdk, collection)
  }

  async createPartition(collection: string, partition: string): Promise<void> {
    await collections.createPartition(this.sdk, collection, partition)
  }

  async dropPartition(collection: string, partition: string): Promise<void> {
    await collections.dropPartition(this.sdk, collection, partition)
  }

  /** Collection properties, e.g. { 'collection.ttl.seconds': 86400, 'mmap.enabled': true }. */
  async setProperties(collection: string, properties: Record<string, string | number | boolean>): Promise<void> {
    // Already set (a retried migration): nothing to send, and nothing a failure lists as changed.
    if (await collections.hasProperties(this.sdk, collection, properties)) {
      this.log.info(`properties of ${collection} already set: left as they are`)
      return
    }
    await collections.setProperties(this.sdk, collection, properties)
  }

  /** Removes collection properties (each read back as gone). */
  async dropProperties(collection: string, keys: string[]): Promise<void> {
    await collections.dropProperties(this.sdk, collection, keys)
  }

  async createAlias(collection: string, alias: string): Promise<void> {
    await collections.createAlias(this.sdk, collection, alias)
  }

  async alterAlias(collection: string, alias: string): Promise<void> {
    await collections.alterAlias(this.sdk, collection, alias)
  }

  async dropAlias(alias: string): Promise<void> {
    await collections.dropAlias(this.sdk, alias)
  }

  async loadCollection(collection: string): Promise<void> {
    await collections.loadCollection(this.sdk, collection)
  }

  async releaseCollection(collection: string): Promise<void> {
    await collections.releaseCollection(this.sdk, collection)
  }

  /** Inserts rows (seed data, lookup tables). Int64 values may be given as strings to keep precision. */
  async insert(
    collection: string,
    rows: Record<string, unknown>[],
    opts: { partition?: string } = {},
  ): Promise<number> {
    return (await insertRows(this.sdk, collection, rows, opts.partition)).count
  }
}
