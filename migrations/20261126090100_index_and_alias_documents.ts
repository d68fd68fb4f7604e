import { defineMigration } from 'mvmigrate'

// In-place changes Milvus can make without copying: a scalar index for filtering by file, a TTL,
// and an alias that the application reads through (so later copy-and-swap alters are zero-downtime).
export default defineMigration({
  async up(ctx) {
    await ctx.createIndex('documents', { field: 'file_id', type: 'INVERTED' })
    await ctx.setProperties('documents', { 'collection.ttl.seconds': 30 * 24 * 3600 })
    await ctx.createAlias('documents', 'documents_live')
  },
  async down(ctx) {
    await ctx.dropAlias('documents_live')
    await ctx.setProperties('documents', { 'collection.ttl.seconds': 0 })
    await ctx.dropIndex('documents', 'file_id') // indexes are named after their field by default
  },
})
