-- Extensions the schema relies on: pgvector for embeddings (halfvec, HNSW).
-- depends:

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE EXTENSION IF NOT EXISTS vector;
