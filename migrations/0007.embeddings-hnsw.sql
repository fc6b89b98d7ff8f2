-- transactional: false
-- squawk-disable-assume-in-transaction
-- The HNSW index of vector search over the chunks: cosine distance on halfvec(3072) (HNSW on
-- halfvec takes up to 4,000 dimensions). CONCURRENTLY, alone in its migration: the table may
-- already hold chunks, and writes go on while it builds.
--
-- m = 16, ef_construction = 128, from this measurement on 5,000 vectors of 3072 dimensions
-- (seed and script in tests/sql/test_kb_search_recall.py; 20 query vectors; recall@10 against
-- the exact top 10 by sequential scan; times on 2 shared cores, so only roughly comparable):
--   .venv/bin/python tests/sql/test_kb_search_recall.py "$(make -s db-url)"
--
-- | data      | m  | ef_construction | build s | recall@10 at ef_search 20 / 40 / 100 / 200 | ms/query at 40 / 100 |
-- |-----------|----|-----------------|---------|--------------------------------------------|----------------------|
-- | clustered | 16 | 64              | 12.3    | 1.000 / 1.000 / 1.000 / 1.000              | 4.7 / 5.7            |
-- | clustered | 16 | 128             | 14.0    | 1.000 / 1.000 / 1.000 / 1.000              | 3.0 / 4.2            |
-- | clustered | 24 | 128             | 19.9    | 1.000 / 1.000 / 1.000 / 1.000              | 6.0 / 6.7            |
-- | uniform   | 16 | 64              | 12.4    | 0.210 / 0.325 / 0.595 / 0.830              | 2.9 / 5.8            |
-- | uniform   | 16 | 128             | 12.6    | 0.245 / 0.370 / 0.650 / 0.840              | 3.7 / 3.9            |
-- | uniform   | 24 | 128             | 24.2    | 0.275 / 0.465 / 0.755 / 0.920              | 4.0 / 4.8            |
--
-- clustered: around 300 random centres, noise of the centres' scale (cosine about 0.5 within a
-- cluster, 0 across), like real embeddings; uniform: random directions, the worst case, where a
-- nearest neighbour is barely nearer than any other chunk. (A first run of the 16/64 build took
-- 9.0 s, of 16/128 12.6 s and 24/128 17.0 s: the builds scale with ef_construction and m.)
-- Real embeddings are clustered, and there every pair reaches recall 1.0 from ef_search 20: the
-- build cost decides. ef_construction 128 over 64 buys a better graph for harder data (+0.03 to
-- +0.05 on uniform) for a little build time; m 24 buys more on uniform but costs about twice
-- the build time (and more memory per insert) for nothing on clustered data. The service
-- searches with hnsw.ef_search = 100 (repositories/kb_search.py EF_SEARCH), which leaves headroom
-- for less clustered sets at a millisecond or two per query.
-- depends: 0006.knowledge-bases

-- A concurrent build blocks no reads or writes, but waits for the transactions already running;
-- give up after a minute rather than wait on one left open. A failed build leaves an invalid
-- index behind, and yoyo runs the migration again: so each index is dropped before it is built.
SET lock_timeout = '1min';

DROP INDEX CONCURRENTLY IF EXISTS embeddings_embedding_hnsw_idx;
CREATE INDEX CONCURRENTLY embeddings_embedding_hnsw_idx ON embeddings
    USING hnsw (embedding halfvec_cosine_ops) WITH (m = 16, ef_construction = 128);

RESET lock_timeout;
