-- transactional: false
-- Undo 0007.embeddings-hnsw.sql.

DROP INDEX CONCURRENTLY IF EXISTS embeddings_embedding_hnsw_idx;
