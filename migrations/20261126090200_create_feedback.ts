import { defineMigration } from 'mvmigrate'

// A second collection, partitioned by tenant through a partition key.
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({
      name: 'feedback',
      fields: [
        { name: 'id', type: 'VarChar', maxLength: 64, primaryKey: true },
        { name: 'tenant', type: 'VarChar', maxLength: 64, partitionKey: true },
        { name: 'embedding', type: 'FloatVector', dim: 64 },
        { name: 'score', type: 'Int8', default: 0 },
        { name: 'labels', type: 'Array', elementType: 'VarChar', maxCapacity: 8, maxLength: 32 },
      ],
      numPartitions: 16,
      indexes: [{ field: 'embedding', type: 'IVF_FLAT', metric: 'L2', params: { nlist: 128 } }],
    })
  },
  async down(ctx) {
    await ctx.dropCollection('feedback')
  },
})
