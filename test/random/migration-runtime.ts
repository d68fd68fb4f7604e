import type { AlterBuilder } from '../../src/alter/builder'
import type { FieldDefinition } from '../../src/schema/definition'
import type { Migration } from '../../src/migrations/define'
import type { FieldModel, MigrationSpec, OpSpec } from './case'
import { CONVERTERS, backfillValue } from './functions'

/**
 * What a generated migration file calls: `export default alterMigration('docs', 'id', spec)`.
 * The file carries the case's plain data; this turns it into ctx.alter calls, as a user's
 * migration would write them.
 */
export function alterMigration(collection: string, pk: string, spec: MigrationSpec): Migration {
  return {
    async up(ctx) {
      await ctx.alter(collection, (t) => applyOps(t, pk, spec.ops), { verify: spec.verify })
    },
    ...(spec.explicitDown
      ? {
          async down(ctx) {
            await ctx.revertAlter(collection)
          },
        }
      : {}),
  }
}

export function fieldDefinition(f: FieldModel): FieldDefinition {
  return {
    name: f.name,
    type: f.type,
    ...(f.primaryKey ? { primaryKey: true } : {}),
    ...(f.autoId ? { autoId: true } : {}),
    ...(f.elementType ? { elementType: f.elementType } : {}),
    ...(f.maxLength !== undefined ? { maxLength: f.maxLength } : {}),
    ...(f.maxCapacity !== undefined ? { maxCapacity: f.maxCapacity } : {}),
    ...(f.dim !== undefined ? { dim: f.dim } : {}),
    ...(f.nullable ? { nullable: true } : {}),
    ...(f.default !== undefined ? { default: f.default as never } : {}),
    ...(f.partitionKey ? { partitionKey: true } : {}),
  }
}

export function applyOps(t: AlterBuilder, pk: string, ops: OpSpec[]): void {
  for (const o of ops) {
    switch (o.op) {
      case 'add':
        t.addField(fieldDefinition(o.field))
        if (o.backfill) t.backfill(o.field.name, (row) => backfillValue(o.field, row[pk]))
        break
      case 'drop':
        t.dropField(o.name)
        break
      case 'rename':
        t.renameField(o.from, o.to)
        break
      case 'retype':
        t.alterField(o.name, {
          type: o.to,
          ...(o.convert ? { convert: CONVERTERS[o.convert].fn } : {}),
          ...(o.maxLength !== undefined ? { maxLength: o.maxLength } : {}),
        })
        break
      case 'grow':
        t.alterField(o.name, {
          ...(o.maxLength !== undefined ? { maxLength: o.maxLength } : {}),
          ...(o.maxCapacity !== undefined ? { maxCapacity: o.maxCapacity } : {}),
        })
        break
      case 'nullable':
        t.alterField(o.name, {
          nullable: o.nullable,
          ...(o.default !== undefined ? { default: o.default as never } : {}),
        })
        break
      case 'addIndex':
        t.addIndex({ name: o.index.field, ...o.index })
        break
      case 'dropIndex':
        t.dropIndex(o.name)
        break
      case 'setProperty':
        t.setProperties({ [o.key]: o.value })
        break
    }
  }
}
