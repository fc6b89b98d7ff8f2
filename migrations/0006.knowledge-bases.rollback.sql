-- Undo 0006.knowledge-bases.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

DROP TABLE agent_knowledge_bases;
DROP TABLE embeddings;
DROP TABLE knowledge_base_web_urls;
DROP TABLE knowledge_base_tables;
DROP TABLE knowledge_base_freeform_texts;
DROP TABLE knowledge_base_files;
DROP TABLE knowledge_bases;
