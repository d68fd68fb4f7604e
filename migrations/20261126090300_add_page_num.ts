import { defineMigration } from 'mvmigrate'

// The worked example: Milvus cannot change a collection's fields in place (older servers cannot
// even add one), so this runs as copy-and-swap. Every row keeps its primary key (auto_id included)
// and every untouched value; the old collection is kept as a backup until `mvmigrate prune`.
export default defineMigration({
  async up(ctx) {
    await ctx.alter('documents', (t) => {
      t.addField({ name: 'page_num', type: 'VarChar', maxLength: 500, default: '' })
      t.dropField('legacy_tag')
      t.backfill('page_num', (row) => String((row.metadata as { page?: number } | null)?.page ?? ''))
    })
  },
  async down(ctx) {
    // Swaps the backup back in (no copy). The altered collection is kept until pruned.
    await ctx.revertAlter('documents')
  },
})
