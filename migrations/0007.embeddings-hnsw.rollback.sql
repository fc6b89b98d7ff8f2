-- transactional: false
-- squawk-disable-assume-in-transaction
-- Undo 0007.embeddings-hnsw.sql.

-- Give up rather than queue every query on these tables behind a lock we wait for.
SET lock_timeout = '5s';

DROP INDEX CONCURRENTLY IF EXISTS embeddings_embedding_hnsw_idx;

RESET lock_timeout;
