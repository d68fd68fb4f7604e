import { defineMigration } from 'mvmigrate'

// The collection a RAG service keeps its chunks in. The demo (`npm run demo`) runs this on an empty
// embedded Milvus; scripts/demo.js then fills it with sample rows.
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({
      name: 'documents',
      description: 'document chunks with their embeddings',
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true, autoId: true },
        { name: 'file_id', type: 'VarChar', maxLength: 500 },
        { name: 'vector', type: 'FloatVector', dim: 1024 },
        { name: 'text', type: 'VarChar', maxLength: 65535 },
        { name: 'metadata', type: 'JSON', nullable: true },
        { name: 'name', type: 'VarChar', maxLength: 500 },
        { name: 'legacy_tag', type: 'VarChar', maxLength: 64, nullable: true },
      ],
      indexes: [{ field: 'vector', type: 'HNSW', metric: 'COSINE', params: { M: 16, efConstruction: 200 } }],
      enableDynamicField: true,
    })
  },
  async down(ctx) {
    await ctx.dropCollection('documents')
  },
})
