-- Knowledge bases (the RAG store): their sources of four kinds, the chunks embedded from them,
-- and which agents may search which knowledge bases. The HNSW index on the embeddings has its own
-- migration (0007), built CONCURRENTLY.
-- depends: 0005.threads-statistics

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE TABLE knowledge_bases (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name text NOT NULL,
    description text,
    embedding_model text,
    is_enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT knowledge_bases_id_org_id_key UNIQUE (id, org_id),
    CONSTRAINT knowledge_bases_name_check CHECK (length(name) BETWEEN 1 AND 200)
);
CREATE INDEX knowledge_bases_org_id_created_at_idx ON knowledge_bases (org_id, created_at DESC, id DESC);

-- The four kinds of source share their first columns: the knowledge base they belong to (in the
-- same org, by the composite key) and their processing status.
CREATE TABLE knowledge_base_files (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    error text,
    name text NOT NULL,
    mime_type text,
    size_bytes bigint,
    storage_uri text NOT NULL,
    checksum_sha256 text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT knowledge_base_files_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id)
        REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE,
    CONSTRAINT knowledge_base_files_id_knowledge_base_id_key UNIQUE (id, knowledge_base_id),
    CONSTRAINT knowledge_base_files_status_check CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    CONSTRAINT knowledge_base_files_size_bytes_check CHECK (size_bytes >= 0),
    CONSTRAINT knowledge_base_files_checksum_sha256_check CHECK (checksum_sha256 ~ '^[0-9a-f]{64}$')
);
CREATE INDEX knowledge_base_files_knowledge_base_id_created_at_idx
    ON knowledge_base_files (knowledge_base_id, created_at DESC, id DESC);

CREATE TABLE knowledge_base_freeform_texts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    error text,
    title text NOT NULL,
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT knowledge_base_freeform_texts_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id)
        REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE,
    CONSTRAINT knowledge_base_freeform_texts_id_knowledge_base_id_key UNIQUE (id, knowledge_base_id),
    CONSTRAINT knowledge_base_freeform_texts_status_check CHECK (status IN ('pending', 'processing', 'ready', 'failed'))
);
CREATE INDEX knowledge_base_freeform_texts_knowledge_base_id_created_at_idx
    ON knowledge_base_freeform_texts (knowledge_base_id, created_at DESC, id DESC);

CREATE TABLE knowledge_base_tables (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    error text,
    name text NOT NULL,
    columns jsonb NOT NULL,
    rows jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT knowledge_base_tables_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id)
        REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE,
    CONSTRAINT knowledge_base_tables_id_knowledge_base_id_key UNIQUE (id, knowledge_base_id),
    CONSTRAINT knowledge_base_tables_status_check CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    CONSTRAINT knowledge_base_tables_columns_check CHECK (jsonb_typeof(columns) = 'array'),
    CONSTRAINT knowledge_base_tables_rows_check CHECK (jsonb_typeof(rows) = 'array')
);
COMMENT ON COLUMN knowledge_base_tables.columns IS 'The columns, in order: [{"name": ..., "type": ...}].';
COMMENT ON COLUMN knowledge_base_tables.rows IS 'The rows, each an array of values in column order.';
CREATE INDEX knowledge_base_tables_knowledge_base_id_created_at_idx
    ON knowledge_base_tables (knowledge_base_id, created_at DESC, id DESC);

CREATE TABLE knowledge_base_web_urls (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    error text,
    url text NOT NULL,
    crawl_depth integer NOT NULL DEFAULT 0,
    crawl_interval interval,
    last_crawled_at timestamptz,
    next_crawl_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT knowledge_base_web_urls_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id)
        REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE,
    CONSTRAINT knowledge_base_web_urls_id_knowledge_base_id_key UNIQUE (id, knowledge_base_id),
    CONSTRAINT knowledge_base_web_urls_status_check CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    CONSTRAINT knowledge_base_web_urls_url_check CHECK (url ~ '^https?://'),
    CONSTRAINT knowledge_base_web_urls_crawl_depth_check CHECK (crawl_depth BETWEEN 0 AND 10),
    CONSTRAINT knowledge_base_web_urls_crawl_interval_check CHECK (crawl_interval > interval '0')
);
CREATE INDEX knowledge_base_web_urls_knowledge_base_id_created_at_idx
    ON knowledge_base_web_urls (knowledge_base_id, created_at DESC, id DESC);
-- What a crawler would take next.
CREATE INDEX knowledge_base_web_urls_next_crawl_at_idx ON knowledge_base_web_urls (next_crawl_at)
    WHERE next_crawl_at IS NOT NULL;

CREATE TABLE embeddings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    file_id uuid,
    freeform_text_id uuid,
    table_id uuid,
    web_url_id uuid,
    chunk_index integer NOT NULL,
    content text NOT NULL,
    -- Stored, so that ranking reads it instead of running to_tsvector on every matching chunk.
    text_search tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    embedding halfvec(3072) NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT embeddings_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id)
        REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE,
    -- Each source reference also names the knowledge base: a chunk and its source are in the same one.
    CONSTRAINT embeddings_file_id_fkey FOREIGN KEY (file_id, knowledge_base_id)
        REFERENCES knowledge_base_files (id, knowledge_base_id) ON DELETE CASCADE,
    CONSTRAINT embeddings_freeform_text_id_fkey FOREIGN KEY (freeform_text_id, knowledge_base_id)
        REFERENCES knowledge_base_freeform_texts (id, knowledge_base_id) ON DELETE CASCADE,
    CONSTRAINT embeddings_table_id_fkey FOREIGN KEY (table_id, knowledge_base_id)
        REFERENCES knowledge_base_tables (id, knowledge_base_id) ON DELETE CASCADE,
    CONSTRAINT embeddings_web_url_id_fkey FOREIGN KEY (web_url_id, knowledge_base_id)
        REFERENCES knowledge_base_web_urls (id, knowledge_base_id) ON DELETE CASCADE,
    CONSTRAINT embeddings_source_check CHECK (num_nonnulls(file_id, freeform_text_id, table_id, web_url_id) = 1),
    CONSTRAINT embeddings_chunk_index_check CHECK (chunk_index >= 0),
    CONSTRAINT embeddings_metadata_check CHECK (jsonb_typeof(metadata) = 'object')
);
COMMENT ON TABLE embeddings IS 'Chunks of sources with their embeddings; each belongs to exactly one source of one of the four kinds.';
-- A source's chunks in order (and the cascade from each source kind).
CREATE UNIQUE INDEX embeddings_file_id_chunk_index_idx ON embeddings (file_id, chunk_index) WHERE file_id IS NOT NULL;
CREATE UNIQUE INDEX embeddings_freeform_text_id_chunk_index_idx ON embeddings (freeform_text_id, chunk_index)
    WHERE freeform_text_id IS NOT NULL;
CREATE UNIQUE INDEX embeddings_table_id_chunk_index_idx ON embeddings (table_id, chunk_index) WHERE table_id IS NOT NULL;
CREATE UNIQUE INDEX embeddings_web_url_id_chunk_index_idx ON embeddings (web_url_id, chunk_index)
    WHERE web_url_id IS NOT NULL;
CREATE INDEX embeddings_knowledge_base_id_idx ON embeddings (knowledge_base_id);
CREATE INDEX embeddings_text_search_gin_idx ON embeddings USING gin (text_search);

CREATE TABLE agent_knowledge_bases (
    agent_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    org_id uuid NOT NULL,
    PRIMARY KEY (agent_id, knowledge_base_id),
    CONSTRAINT agent_knowledge_bases_agent_id_fkey FOREIGN KEY (agent_id, org_id)
        REFERENCES agents (id, org_id) ON DELETE CASCADE,
    CONSTRAINT agent_knowledge_bases_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id)
        REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE
);
COMMENT ON TABLE agent_knowledge_bases IS 'The knowledge bases an agent may search (the API''s rag_enabled).';
CREATE INDEX agent_knowledge_bases_knowledge_base_id_idx ON agent_knowledge_bases (knowledge_base_id);
