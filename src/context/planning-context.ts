import { catchUpProblem } from '../alter/catch-up'
import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import type { AlterOptions } from '../alter/builder'
import type { AlterSummary } from '../alter/engine'
import { alterNames, freeSlot } from '../alter/names'
import type { AlterPlan } from '../alter/plan'
import { type AlterChange, prepareAlter } from '../alter/prepare'
import type { RevertSummary } from '../alter/revert'
import { MvmError } from '../errors'
import { Journal } from '../ledger/journal'
import { preflightAlter } from '../alter/preflight'
import { countRows, listCollectionNames, resolveName } from '../milvus/collections'
import { describeCollectionSpec } from '../milvus/describe'
import { requireFeatures, serverTraits } from '../milvus/server-traits'
import { type CollectionDefinition, type IndexDefinition, specFromDefinition } from '../schema/definition'
import type { CollectionSpec } from '../schema/spec'
import { READ_ONLY_CALL } from './call-tracker'
import { MigrationContext, type MigrationInfo } from './context'
import { silentLogger } from './logger'

export interface PlannedAlter {
  name: string
  changes: string[]
  warnings: string[]
  rowsToCopy: number | 'unknown'
  backup: string
  /** What writers may do while it runs, and what that costs (the online alter's guarantee and limits). */
  writers: string
  /** The plan itself (not printed): `down --verify full` transforms backup rows with it. */
  readonly plan?: AlterPlan
}

/** The online alter's promise and its costs, as `plan` states them; `offline` says why writes are refused. */
function writersNote(
  name: string,
  alias: boolean,
  offline: string | undefined,
  liteRename: boolean,
  toAlias = false,
): string {
  // The conversion to an alias is itself a rename (the last one): later alters swap the alias.
  const avoid = toAlias
    ? 'this alter turns the name into an alias, by a last rename; later alters swap the alias'
    : 'an alias avoids it'
  if (offline)
    return `writers: stop them. This alter is ${offline.startsWith('offline') ? offline : `offline: ${offline}`}; any write to '${name}' during its copy fails it, with nothing swapped`
  return [
    `writers may keep writing: every write acknowledged before the swap ends up in the new collection unless a later write to the same key there superseded it${liteRename ? ` (on Milvus Lite, except a write acknowledged during its rename, which it can lose: ${toAlias ? 'stop writers for this swap (it renames, to turn the name into an alias; later alters swap the alias)' : 'swap through an alias, { convertToAlias: true }, or stop writers for the swap'})` : ''};`,
    `after the copy, catch-up passes re-read the whole source (each a full read) until they stop shrinking; after the swap the old collection is swept for late writes, and a key written on both sides is reported as a conflict and kept in the backup;`,
    alias
      ? 'through the alias no write or search fails;'
      : `writes by name fail while the name is missing between the two renames (${liteRename ? 'seconds on Milvus Lite' : 'tens of milliseconds'}; ${avoid});`,
    'writers must send rows both schemas accept (expand first, contract later)',
  ].join(' ')
}

export interface MigrationPlan {
  version: string
  name: string
  steps: string[]
  alters: PlannedAlter[]
}

/**
 * Runs a migration's up() without changing anything: each helper records the step it would take,
 * ctx.alter computes its plan (schema diff, rows to copy, backup) against the live collection or
 * against what earlier planned migrations would have made. ctx.client allows reads only; other
 * raw calls are recorded as "not planned".
 */
export class PlanningContext extends MigrationContext {
  readonly steps: string[] = []
  readonly alters: PlannedAlter[] = []
  /** Names whose alter down() would swap back (ctx.revertAlter). */
  readonly reverted: string[] = []

  constructor(
    private readonly realClient: MilvusClient,
    migration: MigrationInfo,
    /** Collections as earlier planned migrations leave them (undefined: dropped). */
    private readonly overlay: Map<string, CollectionSpec | undefined>,
    /**
     * Planning what `up` will run: an alter an earlier (failed) run of this migration finished is
     * skipped, as up skips it. Not when planning to learn an applied migration's alter or its down().
     */
    private readonly skipFinishedAlters = false,
  ) {
    const steps: string[] = []
    const guarded = new Proxy(realClient, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver)
        if (typeof value !== 'function' || typeof prop !== 'string' || READ_ONLY_CALL.test(prop)) return value
        return async () => {
          steps.push(`ctx.client.${prop}(...) (raw client call: not run by plan)`)
          return { error_code: 'Success', code: 0, reason: '' }
        }
      },
    })
    super(guarded, migration, silentLogger)
    this.steps = steps
  }

  private async spec(name: string): Promise<CollectionSpec | undefined> {
    if (this.overlay.has(name)) return this.overlay.get(name)
    const resolved = await resolveName(this.realClient, name)
    return resolved ? describeCollectionSpec(this.realClient, resolved.collection) : undefined
  }

  override async hasCollection(name: string): Promise<boolean> {
    return !!(await this.spec(name))
  }

  override async describeCollection(name: string): Promise<CollectionSpec> {
    const s = await this.spec(name)
    if (!s)
      throw new MvmError(
        'MIGRATION_INVALID',
        `${this.migration.file}: collection '${name}' does not exist (at this point of the plan)`,
      )
    return s
  }

  override async createCollection(
    def: CollectionDefinition,
    opts: { ifNotExists?: boolean } = {},
  ): Promise<CollectionSpec> {
    const { spec, problems } = specFromDefinition(def, `${this.migration.file}: `)
    if (problems.length)
      throw new MvmError('MIGRATION_INVALID', `Invalid collection definition:\n  ${problems.join('\n  ')}`)
    const existing = await this.spec(spec.name)
    if (existing && opts.ifNotExists) {
      this.refuseOtherSchema(existing, spec, def)
      this.steps.push(`collection ${spec.name} exists with this schema: left as it is`)
      return existing
    }
    if (existing)
      throw new MvmError('MIGRATION_INVALID', `${this.migration.file}: collection '${spec.name}' already exists`)
    await requireFeatures(
      this.realClient,
      spec,
      `${this.where()}cannot create collection '${spec.name}' on this server`,
    )
    this.overlay.set(spec.name, { ...spec, aliases: [...(def.aliases ?? [])] })
    this.steps.push(`create collection ${spec.name} (${spec.fields.map((f) => `${f.name} ${f.type}`).join(', ')})`)
    return spec
  }

  override async dropCollection(name: string, opts: { ifExists?: boolean } = {}): Promise<void> {
    if (!(await this.spec(name)) && !opts.ifExists)
      throw new MvmError(
        'MIGRATION_INVALID',
        `${this.migration.file}: cannot drop collection '${name}': it does not exist`,
      )
    this.overlay.set(name, undefined)
    this.steps.push(`drop collection ${name}`)
  }

  override async renameCollection(from: string, to: string): Promise<void> {
    const s = await this.spec(from)
    this.overlay.set(from, undefined)
    if (s) this.overlay.set(to, { ...s, name: to })
    this.steps.push(`rename collection ${from} -> ${to}`)
  }

  override async alter(name: string, change: AlterChange, options: AlterOptions = {}): Promise<AlterSummary> {
    this.refuseSecondAlter(name)
    // A failed migration's retry: an alter its earlier run finished is skipped, as up skips it.
    const previous = this.skipFinishedAlters
      ? await new Journal(this.realClient).get(this.migration.version, name).catch(() => undefined)
      : undefined
    if (previous?.state === 'done') {
      this.steps.push(`alter ${name}: done by an earlier run of this migration, not run again`)
      return this.altered<AlterSummary>({
        name,
        mode: previous.mode,
        collection: previous.target,
        backup: previous.backup,
        rowsCopied: 0,
        durationMs: 0,
        changes: [],
        resumed: true,
      })
    }
    const source = await this.spec(name)
    if (!source)
      throw new MvmError(
        'MIGRATION_INVALID',
        `${this.migration.file}: cannot alter '${name}': no such collection or alias`,
        { hint: 'Check the name. Nothing was changed.' },
      )
    const plan = await prepareAlter(source, change, options, this.migration.file, name)
    const live = !this.overlay.has(name) ? await resolveName(this.realClient, name) : undefined
    const rowsToCopy = live
      ? await countRows(this.realClient, live.collection).catch(() => 'unknown' as const)
      : 'unknown'
    const taken = await listCollectionNames(this.realClient)
    const names = alterNames(name, this.migration.version, freeSlot(name, this.migration.version, taken))
    const backup = options.keepBackup === false ? '' : live?.alias ? live.collection : names.backup
    const merged: AlterOptions = {
      ...Object.fromEntries(Object.entries(this.options.alterDefaults ?? {}).filter(([, v]) => v !== undefined)),
      ...options,
    }
    // The checks up makes before creating anything: the same refusal, the same warnings.
    const serverWarnings = await preflightAlter(
      this.realClient,
      plan,
      name,
      live?.alias ? 'alias' : 'rename',
      merged,
      this.where(),
    )
    const writers = writersNote(
      name,
      !!live?.alias,
      merged.online === false ? 'offline (online: false)' : catchUpProblem(plan, !!merged.newIds),
      !live?.alias && (await serverTraits(this.realClient)).renameLosesWrites,
      !live?.alias && !!merged.convertToAlias,
    )
    const planned: PlannedAlter = {
      name,
      changes: plan.changes,
      warnings: [...plan.warnings, ...serverWarnings],
      rowsToCopy,
      backup,
      writers,
    }
    Object.defineProperty(planned, 'plan', { value: plan, enumerable: false })
    this.alters.push(planned)
    this.steps.push(`alter ${name} by copy-and-swap`)
    this.overlay.set(name, { ...plan.target, name })
    return this.altered<AlterSummary>({
      name,
      mode: live?.alias ? 'alias' : 'rename',
      collection: name,
      backup,
      rowsCopied: 0,
      durationMs: 0,
      changes: plan.changes,
    })
  }

  override async revertAlter(name: string): Promise<RevertSummary> {
    this.steps.push(`swap the backup of ${name} back in`)
    this.reverted.push(name)
    return { name, restored: '', leftover: '' }
  }

  override async createIndex(collection: string, index: IndexDefinition): Promise<void> {
    this.steps.push(`create ${index.type} index on ${collection}.${index.field}`)
  }
  override async dropIndex(collection: string, indexName: string): Promise<void> {
    this.steps.push(`drop index ${indexName} on ${collection}`)
  }
  override async replaceIndex(collection: string, indexName: string, index: IndexDefinition): Promise<void> {
    this.steps.push(`rebuild index ${indexName} on ${collection} as ${index.type}`)
  }
  override async dropProperties(collection: string, keys: string[]): Promise<void> {
    this.steps.push(`remove properties of ${collection}: ${keys.join(', ')}`)
  }
  override async createPartition(collection: string, partition: string): Promise<void> {
    this.steps.push(`create partition ${partition} in ${collection}`)
  }
  override async dropPartition(collection: string, partition: string): Promise<void> {
    this.steps.push(`drop partition ${partition} of ${collection}`)
  }
  override async setProperties(
    collection: string,
    properties: Record<string, string | number | boolean>,
  ): Promise<void> {
    this.steps.push(
      `set properties of ${collection}: ${Object.entries(properties)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    )
  }
  override async createAlias(collection: string, alias: string): Promise<void> {
    this.steps.push(`create alias ${alias} -> ${collection}`)
  }
  override async alterAlias(collection: string, alias: string): Promise<void> {
    this.steps.push(`point alias ${alias} at ${collection}`)
  }
  override async dropAlias(alias: string): Promise<void> {
    this.steps.push(`drop alias ${alias}`)
  }
  override async loadCollection(collection: string): Promise<void> {
    this.steps.push(`load ${collection}`)
  }
  override async releaseCollection(collection: string): Promise<void> {
    this.steps.push(`release ${collection}`)
  }
  override async insert(collection: string, rows: Record<string, unknown>[]): Promise<number> {
    this.steps.push(`insert ${rows.length} rows into ${collection}`)
    return rows.length
  }
}
