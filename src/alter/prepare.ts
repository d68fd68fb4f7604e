import { MvmError } from '../errors'
import type { CollectionSpec } from '../schema/spec'
import { AlterBuilder, type AlterOp, type AlterOptions, type DeclarativeAlter } from './builder'
import { type AlterPlan, opsFromDeclarative, planAlter } from './plan'

/** What a migration passes to ctx.alter: a builder callback, or the declarative field list. */
export type AlterChange = ((t: AlterBuilder) => unknown) | DeclarativeAlter

/**
 * The one way from what a migration wrote to a validated plan, shared by the run (MigrationContext)
 * and by planning (PlanningContext, `plan`, `down --verify full`): builder or declarative form ->
 * operations -> plan against `source`. Every problem is reported at once, and nothing has changed.
 */
export async function prepareAlter(
  source: CollectionSpec,
  change: AlterChange,
  options: AlterOptions,
  file: string,
  name: string,
): Promise<AlterPlan> {
  const where = `${file}: `
  const problems: string[] = []
  let ops: AlterOp[]
  if (typeof change === 'function') {
    const builder = new AlterBuilder()
    await change(builder)
    ops = builder.ops
  } else ops = opsFromDeclarative(source, change, problems, `${where}alter '${name}': `)
  const plan = planAlter(source, ops, options, where)
  problems.push(...plan.problems)
  if (problems.length) {
    throw new MvmError('MIGRATION_INVALID', `Cannot alter '${name}':\n  ${problems.join('\n  ')}`, {
      hint: `Fix the ${typeof change === 'function' ? 'alter' : 'schema list'} in the migration file. Nothing was created or changed.`,
    })
  }
  return plan
}
