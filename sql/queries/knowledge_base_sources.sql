-- The sources of knowledge bases, one table per kind: files, freeform texts, tables and web URLs.
-- Each kind has the same statements, spelled out for its own columns. Every query names the org and
-- the knowledge base: a source of another org, or under another knowledge base, is not found.
-- A source is created `pending`; ingest (another module) moves it on. Deleting a source deletes its
-- embeddings by cascade.

-- name: list_kb_files :many
-- The files of a knowledge base, newest first; the page is (page - 1) * page_size.
-- uses: knowledge_base_files_knowledge_base_id_created_at_idx
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, name, mime_type, size_bytes, storage_uri, checksum_sha256,
    created_at, updated_at
FROM knowledge_base_files
WHERE knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_kb_files :scalar
-- How many files list_kb_files would return in all.
-- uses: knowledge_base_files_knowledge_base_id_created_at_idx
-- never: Seq Scan
SELECT count(*)
FROM knowledge_base_files
WHERE knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: get_kb_file :one
-- A file of a knowledge base of the org.
-- uses: knowledge_base_files_id_knowledge_base_id_org_id_key
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, name, mime_type, size_bytes, storage_uri, checksum_sha256,
    created_at, updated_at
FROM knowledge_base_files
WHERE id = %(file_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: get_kb_file_for_update :one
-- A file of a knowledge base of the org, locked until the transaction ends: a partial change
-- merges into it without losing a concurrent one.
-- uses: knowledge_base_files_id_knowledge_base_id_org_id_key
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, name, mime_type, size_bytes, storage_uri, checksum_sha256,
    created_at, updated_at
FROM knowledge_base_files
WHERE id = %(file_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
FOR UPDATE;

-- name: create_kb_file :one
-- Insert a pending file into a knowledge base of the org; no row when the org has no such
-- knowledge base.
INSERT INTO knowledge_base_files (
    org_id, knowledge_base_id, name, mime_type, size_bytes, storage_uri, checksum_sha256
)
SELECT kb.org_id, kb.id, %(name)s::text, %(mime_type)s::text, %(size_bytes)s::bigint, %(storage_uri)s::text,
    %(checksum_sha256)s::text
FROM knowledge_bases AS kb
WHERE kb.id = %(knowledge_base_id)s AND kb.org_id = %(org_id)s
RETURNING id, knowledge_base_id, status, error, name, mime_type, size_bytes, storage_uri, checksum_sha256,
    created_at, updated_at;

-- name: update_kb_file :one
-- Write every field of a file (the caller merged the change into the locked row); no row when
-- there is no such file.
-- uses: knowledge_base_files_id_knowledge_base_id_org_id_key
-- never: Seq Scan
UPDATE knowledge_base_files
SET name = %(name)s,
    mime_type = %(mime_type)s,
    size_bytes = %(size_bytes)s,
    storage_uri = %(storage_uri)s,
    checksum_sha256 = %(checksum_sha256)s,
    updated_at = now()
WHERE id = %(file_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
RETURNING id, knowledge_base_id, status, error, name, mime_type, size_bytes, storage_uri, checksum_sha256,
    created_at, updated_at;

-- name: delete_kb_file :execrows
-- Delete a file with its embeddings (cascade): 1, or 0 when there is none.
-- uses: knowledge_base_files_id_knowledge_base_id_org_id_key
-- never: Seq Scan
DELETE FROM knowledge_base_files
WHERE id = %(file_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: list_kb_freeform_texts :many
-- The freeform texts of a knowledge base, newest first; the page is (page - 1) * page_size.
-- uses: knowledge_base_freeform_texts_knowledge_base_id_created_at_idx
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, title, content, created_at, updated_at
FROM knowledge_base_freeform_texts
WHERE knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_kb_freeform_texts :scalar
-- How many freeform texts list_kb_freeform_texts would return in all.
-- uses: knowledge_base_freeform_texts_knowledge_base_id_created_at_idx
-- never: Seq Scan
SELECT count(*)
FROM knowledge_base_freeform_texts
WHERE knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: get_kb_freeform_text :one
-- A freeform text of a knowledge base of the org.
-- uses: knowledge_base_freeform_texts_id_knowledge_base_id_org_id_key
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, title, content, created_at, updated_at
FROM knowledge_base_freeform_texts
WHERE id = %(freeform_text_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: get_kb_freeform_text_for_update :one
-- A freeform text of a knowledge base of the org, locked until the transaction ends.
-- uses: knowledge_base_freeform_texts_id_knowledge_base_id_org_id_key
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, title, content, created_at, updated_at
FROM knowledge_base_freeform_texts
WHERE id = %(freeform_text_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
FOR UPDATE;

-- name: create_kb_freeform_text :one
-- Insert a pending freeform text into a knowledge base of the org; no row when the org has no such
-- knowledge base.
INSERT INTO knowledge_base_freeform_texts (org_id, knowledge_base_id, title, content)
SELECT kb.org_id, kb.id, %(title)s::text, %(content)s::text
FROM knowledge_bases AS kb
WHERE kb.id = %(knowledge_base_id)s AND kb.org_id = %(org_id)s
RETURNING id, knowledge_base_id, status, error, title, content, created_at, updated_at;

-- name: update_kb_freeform_text :one
-- Write every field of a freeform text (the caller merged the change into the locked row). New
-- content makes its chunks stale: it goes back to pending, without the error of the last attempt.
-- No row when there is no such text.
-- uses: knowledge_base_freeform_texts_id_knowledge_base_id_org_id_key
-- never: Seq Scan
UPDATE knowledge_base_freeform_texts
SET title = %(title)s,
    content = %(content)s,
    status = CASE WHEN content IS DISTINCT FROM %(content)s THEN 'pending' ELSE status END,
    error = CASE WHEN content IS DISTINCT FROM %(content)s THEN NULL ELSE error END,
    updated_at = now()
WHERE id = %(freeform_text_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
RETURNING id, knowledge_base_id, status, error, title, content, created_at, updated_at;

-- name: delete_kb_freeform_text :execrows
-- Delete a freeform text with its embeddings (cascade): 1, or 0 when there is none.
-- uses: knowledge_base_freeform_texts_id_knowledge_base_id_org_id_key
-- never: Seq Scan
DELETE FROM knowledge_base_freeform_texts
WHERE id = %(freeform_text_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: list_kb_tables :many
-- The tables of a knowledge base, newest first; the page is (page - 1) * page_size.
-- uses: knowledge_base_tables_knowledge_base_id_created_at_idx
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, name, columns, rows, created_at, updated_at
FROM knowledge_base_tables
WHERE knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_kb_tables :scalar
-- How many tables list_kb_tables would return in all.
-- uses: knowledge_base_tables_knowledge_base_id_created_at_idx
-- never: Seq Scan
SELECT count(*)
FROM knowledge_base_tables
WHERE knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: get_kb_table :one
-- A table of a knowledge base of the org.
-- uses: knowledge_base_tables_id_knowledge_base_id_org_id_key
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, name, columns, rows, created_at, updated_at
FROM knowledge_base_tables
WHERE id = %(table_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: get_kb_table_for_update :one
-- A table of a knowledge base of the org, locked until the transaction ends.
-- uses: knowledge_base_tables_id_knowledge_base_id_org_id_key
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, name, columns, rows, created_at, updated_at
FROM knowledge_base_tables
WHERE id = %(table_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
FOR UPDATE;

-- name: create_kb_table :one
-- Insert a pending table into a knowledge base of the org; no row when the org has no such
-- knowledge base. The caller checked that every row has a value per column.
INSERT INTO knowledge_base_tables (org_id, knowledge_base_id, name, columns, rows)
SELECT kb.org_id, kb.id, %(name)s::text, %(columns)s::jsonb, %(rows)s::jsonb
FROM knowledge_bases AS kb
WHERE kb.id = %(knowledge_base_id)s AND kb.org_id = %(org_id)s
RETURNING id, knowledge_base_id, status, error, name, columns, rows, created_at, updated_at;

-- name: update_kb_table :one
-- Write every field of a table (the caller merged the change into the locked row). New columns or
-- rows make its chunks stale: it goes back to pending, without the error of the last attempt.
-- No row when there is no such table.
-- uses: knowledge_base_tables_id_knowledge_base_id_org_id_key
-- never: Seq Scan
UPDATE knowledge_base_tables
SET name = %(name)s,
    columns = %(columns)s::jsonb,
    rows = %(rows)s::jsonb,
    status = CASE
        WHEN columns IS DISTINCT FROM %(columns)s::jsonb OR rows IS DISTINCT FROM %(rows)s::jsonb THEN 'pending'
        ELSE status
    END,
    error = CASE
        WHEN columns IS DISTINCT FROM %(columns)s::jsonb OR rows IS DISTINCT FROM %(rows)s::jsonb THEN NULL
        ELSE error
    END,
    updated_at = now()
WHERE id = %(table_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
RETURNING id, knowledge_base_id, status, error, name, columns, rows, created_at, updated_at;

-- name: delete_kb_table :execrows
-- Delete a table with its embeddings (cascade): 1, or 0 when there is none.
-- uses: knowledge_base_tables_id_knowledge_base_id_org_id_key
-- never: Seq Scan
DELETE FROM knowledge_base_tables
WHERE id = %(table_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: list_kb_web_urls :many
-- The web URLs of a knowledge base, newest first; the page is (page - 1) * page_size.
-- crawl_interval is in seconds, as the API takes it.
-- uses: knowledge_base_web_urls_knowledge_base_id_created_at_idx
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, url, crawl_depth,
    extract(epoch FROM crawl_interval)::bigint AS crawl_interval, last_crawled_at, next_crawl_at,
    created_at, updated_at
FROM knowledge_base_web_urls
WHERE knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_kb_web_urls :scalar
-- How many web URLs list_kb_web_urls would return in all.
-- uses: knowledge_base_web_urls_knowledge_base_id_created_at_idx
-- never: Seq Scan
SELECT count(*)
FROM knowledge_base_web_urls
WHERE knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: get_kb_web_url :one
-- A web URL of a knowledge base of the org; crawl_interval in seconds.
-- uses: knowledge_base_web_urls_id_knowledge_base_id_org_id_key
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, url, crawl_depth,
    extract(epoch FROM crawl_interval)::bigint AS crawl_interval, last_crawled_at, next_crawl_at,
    created_at, updated_at
FROM knowledge_base_web_urls
WHERE id = %(web_url_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: get_kb_web_url_for_update :one
-- A web URL of a knowledge base of the org, locked until the transaction ends.
-- uses: knowledge_base_web_urls_id_knowledge_base_id_org_id_key
-- never: Seq Scan
SELECT id, knowledge_base_id, status, error, url, crawl_depth,
    extract(epoch FROM crawl_interval)::bigint AS crawl_interval, last_crawled_at, next_crawl_at,
    created_at, updated_at
FROM knowledge_base_web_urls
WHERE id = %(web_url_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
FOR UPDATE;

-- name: create_kb_web_url :one
-- Insert a pending web URL into a knowledge base of the org; crawl_interval is given in seconds.
-- No row when the org has no such knowledge base.
INSERT INTO knowledge_base_web_urls (
    org_id, knowledge_base_id, url, crawl_depth, crawl_interval, last_crawled_at, next_crawl_at
)
SELECT kb.org_id, kb.id, %(url)s::text, %(crawl_depth)s::integer,
    make_interval(secs => %(crawl_interval)s::bigint), %(last_crawled_at)s::timestamptz,
    %(next_crawl_at)s::timestamptz
FROM knowledge_bases AS kb
WHERE kb.id = %(knowledge_base_id)s AND kb.org_id = %(org_id)s
RETURNING id, knowledge_base_id, status, error, url, crawl_depth,
    extract(epoch FROM crawl_interval)::bigint AS crawl_interval, last_crawled_at, next_crawl_at,
    created_at, updated_at;

-- name: update_kb_web_url :one
-- Write every field of a web URL (the caller merged the change into the locked row); crawl_interval
-- in seconds. No row when there is no such web URL.
-- uses: knowledge_base_web_urls_id_knowledge_base_id_org_id_key
-- never: Seq Scan
UPDATE knowledge_base_web_urls
SET url = %(url)s,
    crawl_depth = %(crawl_depth)s,
    crawl_interval = make_interval(secs => %(crawl_interval)s::bigint),
    last_crawled_at = %(last_crawled_at)s,
    next_crawl_at = %(next_crawl_at)s,
    updated_at = now()
WHERE id = %(web_url_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
RETURNING id, knowledge_base_id, status, error, url, crawl_depth,
    extract(epoch FROM crawl_interval)::bigint AS crawl_interval, last_crawled_at, next_crawl_at,
    created_at, updated_at;

-- name: delete_kb_web_url :execrows
-- Delete a web URL with its embeddings (cascade): 1, or 0 when there is none.
-- uses: knowledge_base_web_urls_id_knowledge_base_id_org_id_key
-- never: Seq Scan
DELETE FROM knowledge_base_web_urls
WHERE id = %(web_url_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;
