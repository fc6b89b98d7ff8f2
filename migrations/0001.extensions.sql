-- Extensions the schema relies on: pgvector for embeddings (halfvec, HNSW).
-- depends:

CREATE EXTENSION IF NOT EXISTS vector;
