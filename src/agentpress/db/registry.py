"""The named queries of sql/queries/, typed for editors and mypy: written by `make sql-registry`; do not edit."""

# One class per query file, one attribute per query, its docstring naming the file and line: an editor's
# go-to-definition on `queries.tasks.claim_tasks` lands here, and mypy knows every name. agentpress.db.queries
# binds the parsed queries to these classes; tests/test_queries.py fails when this file is out of date.

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentpress.db.queries import Query


class AgentsQueries:
    """sql/queries/agents.sql: Agents, their tools (agent_tools), the knowledge bases they may search
    (agent_knowledge_bases, the API's rag_enabled) and their versions (agent_versions)."""

    create_agent: Query
    """sql/queries/agents.sql:6 `:scalar`. Insert an agent at version 1; its tools, knowledge bases and first snapshot
    follow in the same transaction."""

    get_agent: Query
    """sql/queries/agents.sql:19 `:one`. An agent of the org, with the ids of its tools and knowledge bases."""

    get_agent_for_update: Query
    """sql/queries/agents.sql:33 `:one`. An agent of the org, locked until the transaction ends: changes to one agent
    take turns."""

    update_agent: Query
    """sql/queries/agents.sql:48 `:execrows`. Write every field of a locked agent and bump its version; its snapshot
    follows."""

    set_agent_tools: Query
    """sql/queries/agents.sql:65 `:exec`. Make an agent's tools exactly these (tools_enabled). A tool of another org
    fails agent_tools_tool_id_fkey."""

    set_agent_knowledge_bases: Query
    """sql/queries/agents.sql:78 `:exec`. Make the knowledge bases an agent may search exactly these (rag_enabled). A
    knowledge base of another org fails agent_knowledge_bases_knowledge_base_id_fkey."""

    create_agent_versions: Query
    """sql/queries/agents.sql:92 `:exec`. Snapshot the current state of these agents of the org as their current
    version."""

    bump_agents_using_tool: Query
    """sql/queries/agents.sql:124 `:many`. Lock and bump the version of every agent of the org that has this tool,
    before it is taken away."""

    delete_tool_from_agents: Query
    """sql/queries/agents.sql:134 `:execrows`. Take a tool off every agent that has it."""

    bump_agents_using_knowledge_base: Query
    """sql/queries/agents.sql:141 `:many`. Lock and bump the version of every agent of the org that may search this
    knowledge base, before it is taken away."""

    delete_knowledge_base_from_agents: Query
    """sql/queries/agents.sql:152 `:execrows`. Take a knowledge base off every agent that has it."""

    list_agents: Query
    """sql/queries/agents.sql:159 `:many`. The org's agents, newest first, optionally only archived or not, enabled or
    not."""

    count_agents: Query
    """sql/queries/agents.sql:177 `:scalar`. How many agents list_agents would return in all."""

    search_agents: Query
    """sql/queries/agents.sql:185 `:many`. The org's agents whose name matches a LIKE pattern (any case), newest first.
    The trigram index finds the matches, so a search stays fast however many agents there are
    (tests/sql/test_plan_contracts.py)."""

    count_agents_matching: Query
    """sql/queries/agents.sql:204 `:scalar`. How many agents search_agents would return in all."""

    delete_agent: Query
    """sql/queries/agents.sql:213 `:execrows`. Delete an agent of the org with its tools and versions."""

    list_agent_versions: Query
    """sql/queries/agents.sql:218 `:many`. An agent's versions, newest first."""

    count_agent_versions: Query
    """sql/queries/agents.sql:228 `:scalar`. How many versions an agent has."""

    get_agent_version: Query
    """sql/queries/agents.sql:234 `:one`. One version of an agent."""

    list_org_tool_ids: Query
    """sql/queries/agents.sql:242 `:many`. Which of these ids are tools of the org: tools_enabled may name no other."""

    list_org_knowledge_base_ids: Query
    """sql/queries/agents.sql:250 `:many`. Which of these ids are knowledge bases of the org: rag_enabled may name no
    other."""

    has_org_persona: Query
    """sql/queries/agents.sql:258 `:scalar`. Whether a persona belongs to the org."""

    is_allowed_agent_model: Query
    """sql/queries/agents.sql:262 `:scalar`. Whether an agent may use this model: any model while the org has configured
    none, else only one of its enabled models of an enabled provider (of the named provider, when one is named)."""

    list_agents_using_persona: Query
    """sql/queries/agents.sql:277 `:many`. The agents of the org that use a persona, which then cannot be deleted."""

    list_agent_threads: Query
    """sql/queries/agents.sql:287 `:many`. The threads (and their users) that use an agent: their cached copies must go
    when it does."""


class AnalyticsQueries:
    """sql/queries/analytics.sql: Analytics: reports over an org's threads, messages, feedback, tasks and tool calls, by
    UTC day."""

    get_complete_before: Query
    """sql/queries/analytics.sql:8 `:scalar`. The first day the org's rollups do not hold; null when they were never
    refreshed."""

    rollup_usage: Query
    """sql/queries/analytics.sql:16 `:many`. The org's rollup summed per bucket (granularity is date_trunc's field: day,
    week or month), optionally of one agent. Buckets start on their first day; weeks on Mondays."""

    rollup_active_users: Query
    """sql/queries/analytics.sql:36 `:many`. Distinct active users per bucket of the org's rollup, optionally of one
    agent: not a sum of days, since one user active on two days of a week is one active user that week."""

    rollup_user_ids: Query
    """sql/queries/analytics.sql:50 `:many`. The users active in the org's rollup over the days, optionally of one
    agent: for a bucket that the rollup holds only in part, to be united with the live part's users."""

    rollup_agents: Query
    """sql/queries/analytics.sql:61 `:many`. The org's rollup summed per agent over the days; agent_id null: threads
    without an agent."""

    rollup_tools: Query
    """sql/queries/analytics.sql:82 `:many`. The org's tool rollup summed per tool name over the days."""

    live_daily: Query
    """sql/queries/analytics.sql:92 `:many`. The org's activity in [since, until) per UTC day and agent, counted from
    the source tables: threads by the day they were created, messages (by role, with their tokens) by the day they were
    written, feedback by the day it was last given, tasks by the day they succeeded or failed for good. Messages and
    feedback count for their thread's agent, tasks for their own."""

    live_users: Query
    """sql/queries/analytics.sql:147 `:many`. Who was active in the org in [since, until), per UTC day and agent: the
    owners of the threads that got a user message (a thread's user messages are its owner's)."""

    live_tools: Query
    """sql/queries/analytics.sql:158 `:many`. The org's tool calls in [since, until) per UTC day and tool name:
    tool_call parts, and tool_result parts that report an error."""

    agent_names: Query
    """sql/queries/analytics.sql:176 `:many`. The names of those of the ids that are agents of the org (a report's
    agents may have been deleted)."""

    tool_ids: Query
    """sql/queries/analytics.sql:185 `:many`. The ids of those of the names that are tools of the org (calls may name
    tools it does not have)."""

    orgs_to_refresh: Query
    """sql/queries/analytics.sql:193 `:scalar`. The ids of the orgs whose rollups end before complete_before, or were
    never refreshed."""

    lock_refresh: Query
    """sql/queries/analytics.sql:200 `:scalar`. Take the org's refresh row for this transaction (a second refresh of the
    org waits for it) and return how far its rollups reach; null when they were never refreshed."""

    first_activity: Query
    """sql/queries/analytics.sql:208 `:scalar`. When the org's first thread was created or first task finished: where a
    first refresh starts."""

    delete_daily: Query
    """sql/queries/analytics.sql:217 `:execrows`. The org's rollup rows of the days, before the refresh copies them in
    anew (same transaction)."""

    delete_daily_users: Query
    """sql/queries/analytics.sql:222 `:execrows`. As delete_daily, for the active users."""

    delete_daily_tools: Query
    """sql/queries/analytics.sql:227 `:execrows`. As delete_daily, for the tool calls."""

    copy_daily: Query
    """sql/queries/analytics.sql:232 `:copy`. Streamed, not executed: the rows of live_daily, with the org first."""

    copy_daily_users: Query
    """sql/queries/analytics.sql:240 `:copy`. Streamed, not executed: the rows of live_users, with the org first."""

    copy_daily_tools: Query
    """sql/queries/analytics.sql:245 `:copy`. Streamed, not executed: the rows of live_tools, with the org first."""

    finish_refresh: Query
    """sql/queries/analytics.sql:250 `:exec`. The org's rollups now hold every day before complete_before."""


class ApiKeysQueries:
    """sql/queries/api_keys.sql: Org API keys: service credentials for workers and the agent runtime."""

    create_api_key: Query
    """sql/queries/api_keys.sql:5 `:one`. Make a key for the org; the caller keeps the token, the table its hash."""

    list_api_keys: Query
    """sql/queries/api_keys.sql:11 `:many`. The org's keys, newest first, revoked and expired ones included (so an
    operator sees what was)."""

    count_api_keys: Query
    """sql/queries/api_keys.sql:19 `:scalar`. How many keys list_api_keys would return in all."""

    revoke_api_key: Query
    """sql/queries/api_keys.sql:25 `:one`. Revoke a key of the org; revoking it again keeps the first revoked_at. No row
    when the org has no such key."""

    get_api_key_for_token: Query
    """sql/queries/api_keys.sql:33 `:one`. The live key (not revoked, not expired) behind a token: runs on every request
    a key signs, one probe of api_keys_token_hash_key."""

    touch_api_key: Query
    """sql/queries/api_keys.sql:44 `:exec`. Note that a key was used; the caller does it at most once a minute per
    key."""

    list_api_key_token_hashes: Query
    """sql/queries/api_keys.sql:50 `:scalar`. The token hashes of the org's keys (one key when `api_key_id` is set), for
    the session cache to forget them after a revocation or the org's deletion commits. Locks the org row until the
    caller's transaction ends, so that no key or member can be added to an org being deleted between this read and the
    delete."""


class CatalogQueries:
    """sql/queries/catalog.sql: Queries over PostgreSQL's catalog, used by the SQL checks (agentpress.db.sqlcheck)."""

    list_not_null_columns: Query
    """sql/queries/catalog.sql:3 `:many`. The NOT NULL columns of the given tables; a model field that is not optional
    must come from one."""

    get_prepared_types: Query
    """sql/queries/catalog.sql:14 `:one`. The parameter and result types of a statement this session prepared, as
    format_type spells them: for the query catalogue (docs/queries.md). result_types is PostgreSQL 16+."""


class ChannelsQueries:
    """sql/queries/channels.sql: Channels: the ways an org's agents are reached (web, api, slack, discord), keyed by
    name within the org."""

    list_channels: Query
    """sql/queries/channels.sql:5 `:many`. The org's channels by name; the page is (page - 1) * page_size."""

    create_channel: Query
    """sql/queries/channels.sql:15 `:one`. Insert a channel; a name the org already uses fails channels_org_id_name_key,
    an agent of another org channels_agent_id_fkey."""

    update_channel: Query
    """sql/queries/channels.sql:22 `:one`. Write every field of a channel of the org; no row when there is no such
    channel."""


class ConfigQueries:
    """sql/queries/config.sql: What the desktop configuration layout (agentpress config export/import) needs beyond the
    domains' own queries: the ids agents have in an imported tree, the environment variable each provider's API key is
    read from, the default org, and one import at a time per org."""

    get_default_org: Query
    """sql/queries/config.sql:5 `:one`. The default org: where operator commands act when no --org is given."""

    lock_org_config: Query
    """sql/queries/config.sql:11 `:exec`. Hold the org's configuration lock until the transaction ends: concurrent
    imports into one org take turns, so each sees what the previous one wrote and none fails on the other's new
    names."""

    list_agent_config_ids: Query
    """sql/queries/config.sql:16 `:many`. The ids the org's imported agents have in their configuration tree."""

    create_agent_config_id: Query
    """sql/queries/config.sql:26 `:exec`. Remember the id an agent created by an import has in its tree; the agent must
    be of the org (agent_config_ids_agent_id_fkey)."""

    list_model_provider_api_keys: Query
    """sql/queries/config.sql:32 `:many`. The org's providers with their API key (encrypted) and the environment
    variable it is read from."""

    set_model_provider_api_key_env: Query
    """sql/queries/config.sql:42 `:execrows`. Record the environment variable a provider's API key is read from (null:
    none named)."""


class EmailVerificationsQueries:
    """sql/queries/email_verifications.sql: Email verification: single-use tokens mailed to a user's address, stored as
    their SHA-256."""

    create_email_verification: Query
    """sql/queries/email_verifications.sql:3 `:one`. Issue a verification token for the user's address; the caller
    supersedes older ones and queues the mail in the same transaction."""

    supersede_email_verifications: Query
    """sql/queries/email_verifications.sql:10 `:execrows`. Void a user's unused verification tokens: only the newest one
    works."""

    use_email_verification: Query
    """sql/queries/email_verifications.sql:16 `:scalar`. Spend a live token, once, and mark its user's email verified:
    the user's id, or null when the token is unknown, used, superseded or expired, or was mailed to an address that is
    no longer the user's (then it is spent all the same). One statement, so two requests cannot both spend it."""

    mark_email_verified: Query
    """sql/queries/email_verifications.sql:34 `:execrows`. Mark a user's email verified because something else proved
    it: a password reset link was opened, or an OAuth provider vouches for this very address. Only while `email` is
    still theirs."""


class EmbeddingJobsQueries:
    """sql/queries/embedding_jobs.sql: The embedding worker's queue (src/agentpress/services/embedder.py, with
    EMBEDDINGS_URL set): freeform texts and tables waiting for the service to chunk and embed them."""

    claim_freeform_text: Query
    """sql/queries/embedding_jobs.sql:9 `:one`. Lease the oldest pending freeform text (or one whose lease of
    lease_seconds ran out: a worker that died mid-way) by setting it processing; no row when there is none. SKIP LOCKED:
    concurrent workers, and rows a request is changing, are passed over rather than waited for."""

    claim_table: Query
    """sql/queries/embedding_jobs.sql:26 `:one`. As claim_freeform_text, for a table."""

    lock_claimed_freeform_text: Query
    """sql/queries/embedding_jobs.sql:41 `:one`. The claimed freeform text, locked until the transaction ends, if it is
    still processing the content that was embedded; no row when it was changed (back to pending) or deleted meanwhile,
    and the embeddings are thrown away."""

    lock_claimed_table: Query
    """sql/queries/embedding_jobs.sql:52 `:one`. As lock_claimed_freeform_text, for a table: the same columns and rows
    as were embedded."""

    fail_freeform_text: Query
    """sql/queries/embedding_jobs.sql:62 `:execrows`. Mark a claimed freeform text failed with the error; 0 when it was
    changed (back to pending) or deleted meanwhile, which a failure must not undo."""

    fail_table: Query
    """sql/queries/embedding_jobs.sql:71 `:execrows`. As fail_freeform_text, for a table."""

    retry_freeform_text: Query
    """sql/queries/embedding_jobs.sql:79 `:one`. Put a failed freeform text of a knowledge base of the org back to
    pending (error cleared), for the worker to embed again; no row when there is no such text or it has not failed."""

    retry_table: Query
    """sql/queries/embedding_jobs.sql:90 `:one`. As retry_freeform_text, for a table."""


class EmbeddingsQueries:
    """sql/queries/embeddings.sql"""

    update_file_source_ready: Query
    """sql/queries/embeddings.sql:1 `:one`. Marks a file source ready (error cleared) and locks its row until the
    caller's transaction ends: the first statement of a chunk replacement, so concurrent replacements of one source
    queue here. org_id NULL skips the org check (the operator CLI); the API always passes the caller's org."""

    update_freeform_text_source_ready: Query
    """sql/queries/embeddings.sql:12 `:one`. As update_file_source_ready, for a freeform text."""

    update_table_source_ready: Query
    """sql/queries/embeddings.sql:21 `:one`. As update_file_source_ready, for a table."""

    update_web_url_source_ready: Query
    """sql/queries/embeddings.sql:30 `:one`. As update_file_source_ready, for a web URL."""

    delete_file_embeddings: Query
    """sql/queries/embeddings.sql:39 `:execrows`. Every chunk of a file source, before its new chunks are copied in
    (same transaction). Served by embeddings_file_id_chunk_index_org_id_idx (the plan test cannot hold it until its seed
    has embeddings)."""

    delete_freeform_text_embeddings: Query
    """sql/queries/embeddings.sql:45 `:execrows`. Every chunk of a freeform text source, before its new chunks are
    copied in (same transaction). Served by embeddings_freeform_text_id_chunk_index_org_id_idx (the plan test cannot
    hold it until its seed has embeddings)."""

    delete_table_embeddings: Query
    """sql/queries/embeddings.sql:51 `:execrows`. Every chunk of a table source, before its new chunks are copied in
    (same transaction). Served by embeddings_table_id_chunk_index_org_id_idx (the plan test cannot hold it until its
    seed has embeddings)."""

    delete_web_url_embeddings: Query
    """sql/queries/embeddings.sql:57 `:execrows`. Every chunk of a web URL source, before its new chunks are copied in
    (same transaction). Served by embeddings_web_url_id_chunk_index_org_id_idx (the plan test cannot hold it until its
    seed has embeddings)."""

    copy_embeddings: Query
    """sql/queries/embeddings.sql:63 `:copy`. Streamed, not executed: repositories/embeddings.py writes the rows in
    binary (halfvec in pgvector's binary format), one of the four source columns set per row. id, text_search and
    created_at take their defaults."""


class FeedbackQueries:
    """sql/queries/feedback.sql: Feedback: a user's rating of a message in one of their own threads; one per user and
    message."""

    upsert_feedback: Query
    """sql/queries/feedback.sql:3 `:one`. Rate a message of one of the user's threads in the org; a second rating
    replaces the first. No row when the message is not in one of the user's threads. The thread id comes back so that
    the caller can invalidate the thread's cached messages."""

    delete_feedback: Query
    """sql/queries/feedback.sql:27 `:scalar`. Withdraw the user's feedback on a message of one of their threads in the
    org: the message's thread id, or null when there was no such feedback."""


class IdempotencyKeysQueries:
    """sql/queries/idempotency_keys.sql: Idempotency keys: the stored first answers to POSTs sent with an
    Idempotency-Key header, by org, principal (a user or an org API key), route and key (services/idempotency.py)."""

    lock_idempotency_key: Query
    """sql/queries/idempotency_keys.sql:5 `:scalar`. Take the key's lock until the transaction ends; false when another
    transaction holds it: a request with this key is in flight (409). Not a row lock: the row of an answer in flight is
    not committed yet, and an insert would wait for it rather than say so."""

    get_idempotency_key: Query
    """sql/queries/idempotency_keys.sql:15 `:one`. The stored answer to a key, unless it has expired (an expired row not
    yet purged counts as none)."""

    create_idempotency_key: Query
    """sql/queries/idempotency_keys.sql:24 `:execrows`. Store the answer to a key, in the transaction of the write it
    answers, until now() + keep_for. An expired row of the same key not yet purged is replaced; a live one is left alone
    (0 rows), which the key's lock rules out: its holder found none."""

    delete_expired_idempotency_keys: Query
    """sql/queries/idempotency_keys.sql:44 `:execrows`. Delete up to `limit` expired answers, oldest first. SKIP LOCKED:
    the processes that purge at once, and a request reusing an expired key, never wait for each other."""


class InvitationsQueries:
    """sql/queries/invitations.sql: Invitations to join an org: single-use tokens, stored as their SHA-256, valid for a
    week."""

    create_invitation: Query
    """sql/queries/invitations.sql:3 `:one`. Invite an email address to an org with a role; the caller queues the mail
    with the token in the same transaction."""

    list_invitations_for_org: Query
    """sql/queries/invitations.sql:10 `:many`. An org's invitations, newest first, in every state; the page is (page -
    1) * page_size."""

    count_invitations_for_org: Query
    """sql/queries/invitations.sql:20 `:scalar`. How many invitations list_invitations_for_org would return in all."""

    get_invitation: Query
    """sql/queries/invitations.sql:28 `:one`. An invitation of an org by id; no row when it belongs to another org."""

    revoke_invitation: Query
    """sql/queries/invitations.sql:36 `:one`. Revoke an invitation that has not been accepted; revoking twice keeps the
    first time. No row when it is another org's or already accepted."""

    claim_invitation: Query
    """sql/queries/invitations.sql:46 `:one`. Accept a live invitation for this email (any case), once: one conditional
    statement, so of two concurrent accepts the second waits for the first and then finds it accepted. No row when the
    token is unknown, expired, revoked, already accepted or for another email."""

    get_live_invitation_by_token_hash: Query
    """sql/queries/invitations.sql:61 `:one`. A live invitation (not expired, revoked or accepted) by its token's hash,
    for whatever email: when claim_invitation finds nothing, this tells a token for someone else from a dead one."""

    lock_org_and_count_pending_invitations: Query
    """sql/queries/invitations.sql:73 `:scalar`. Lock the org against concurrent invitations (until the transaction
    ends), then count its pending ones: neither accepted, revoked nor expired. FOR NO KEY UPDATE still lets members and
    invitations reference the org meanwhile."""

    can_inviter_grant_role: Query
    """sql/queries/invitations.sql:89 `:scalar`. Whether whoever sent an invitation may still grant its role in its org,
    as when they sent it: a platform admin, an owner of the org, or for the admin role an admin of it; never a disabled
    or deleted user (invited_by is then null). Accepting an owner or admin invitation checks it again."""


class KbSearchQueries:
    """sql/queries/kb_search.sql: Search over the chunks (embeddings) of an org's enabled knowledge bases: nearest by
    cosine distance through the HNSW index (embeddings_embedding_hnsw_idx, migration 0007), or ranked by full-text
    search through embeddings_text_search_gin_idx."""

    set_vector_search_settings: Query
    """sql/queries/kb_search.sql:13 `:exec`. SET LOCAL, for the rest of the transaction, in one round trip (SET takes no
    parameters, set_config does, and PREPAREs): hnsw.ef_search: how many candidates the HNSW scan keeps; more is better
    recall and slower. hnsw.iterative_scan = relaxed_order: when rows fail the filter (another org, another knowledge
    base), the scan goes on past ef_search candidates (up to hnsw.max_scan_tuples, 20,000 by default) until the LIMIT is
    filled. Results may come slightly out of order, so search_chunks_by_vector sorts them again. enable_sort = off: the
    one way to the nearest chunks that sorts none of them is the walk of the HNSW index, so the planner takes it. Left
    to its costs, it prefers a sequential scan and a sort at some table sizes and ef_search values (50,000 chunks at
    ef_search 60 to 100, the service's 100 included), because it prices a 3072-dimension distance like an addition: half
    a second a search instead of 10 ms (bench/scenarios/vector.py). Sorting stays possible, only dearer: a table without
    the index is still searched, and the final sort of k rows is in every plan alike."""

    search_chunks_by_vector: Query
    """sql/queries/kb_search.sql:31 `:many`. The k chunks nearest to the embedding (cosine distance), nearest first;
    score is the cosine similarity, 1 - distance. knowledge_base_ids NULL: every enabled knowledge base of the org. The
    inner query is the index scan with its LIMIT; the outer one re-sorts its k rows (the relaxed order of the iterative
    scan) and looks up their sources."""

    search_chunks_by_text: Query
    """sql/queries/kb_search.sql:66 `:many`. The k chunks that best match the query text (websearch_to_tsquery syntax,
    English), best first; score is cover density ranking (ts_rank_cd) on the stored text_search, divided by 1 +
    log(length) so that long chunks do not win by length alone, and scaled to 0..1. A text of stop words only makes an
    empty tsquery, which matches nothing."""


class KnowledgeBaseSourcesQueries:
    """sql/queries/knowledge_base_sources.sql: The sources of knowledge bases, one table per kind: files, freeform
    texts, tables and web URLs."""

    list_kb_files: Query
    """sql/queries/knowledge_base_sources.sql:7 `:many`. The files of a knowledge base, newest first; the page is (page
    - 1) * page_size."""

    count_kb_files: Query
    """sql/queries/knowledge_base_sources.sql:18 `:scalar`. How many files list_kb_files would return in all."""

    get_kb_file: Query
    """sql/queries/knowledge_base_sources.sql:26 `:one`. A file of a knowledge base of the org."""

    get_kb_file_for_update: Query
    """sql/queries/knowledge_base_sources.sql:35 `:one`. A file of a knowledge base of the org, locked until the
    transaction ends: a partial change merges into it without losing a concurrent one."""

    create_kb_file: Query
    """sql/queries/knowledge_base_sources.sql:46 `:one`. Insert a pending file into a knowledge base of the org; no row
    when the org has no such knowledge base."""

    update_kb_file: Query
    """sql/queries/knowledge_base_sources.sql:59 `:one`. Write every field of a file (the caller merged the change into
    the locked row); no row when there is no such file."""

    delete_kb_file: Query
    """sql/queries/knowledge_base_sources.sql:75 `:execrows`. Delete a file with its embeddings (cascade): 1, or 0 when
    there is none."""

    list_kb_freeform_texts: Query
    """sql/queries/knowledge_base_sources.sql:82 `:many`. The freeform texts of a knowledge base, newest first; the page
    is (page - 1) * page_size."""

    count_kb_freeform_texts: Query
    """sql/queries/knowledge_base_sources.sql:92 `:scalar`. How many freeform texts list_kb_freeform_texts would return
    in all."""

    get_kb_freeform_text: Query
    """sql/queries/knowledge_base_sources.sql:100 `:one`. A freeform text of a knowledge base of the org."""

    get_kb_freeform_text_for_update: Query
    """sql/queries/knowledge_base_sources.sql:108 `:one`. A freeform text of a knowledge base of the org, locked until
    the transaction ends."""

    create_kb_freeform_text: Query
    """sql/queries/knowledge_base_sources.sql:117 `:one`. Insert a pending freeform text into a knowledge base of the
    org; no row when the org has no such knowledge base."""

    update_kb_freeform_text: Query
    """sql/queries/knowledge_base_sources.sql:126 `:one`. Write every field of a freeform text (the caller merged the
    change into the locked row). New content makes its chunks stale: it goes back to pending, without the error of the
    last attempt. No row when there is no such text."""

    delete_kb_freeform_text: Query
    """sql/queries/knowledge_base_sources.sql:141 `:execrows`. Delete a freeform text with its embeddings (cascade): 1,
    or 0 when there is none."""

    list_kb_tables: Query
    """sql/queries/knowledge_base_sources.sql:148 `:many`. The tables of a knowledge base, newest first; the page is
    (page - 1) * page_size."""

    count_kb_tables: Query
    """sql/queries/knowledge_base_sources.sql:158 `:scalar`. How many tables list_kb_tables would return in all."""

    get_kb_table: Query
    """sql/queries/knowledge_base_sources.sql:166 `:one`. A table of a knowledge base of the org."""

    get_kb_table_for_update: Query
    """sql/queries/knowledge_base_sources.sql:174 `:one`. A table of a knowledge base of the org, locked until the
    transaction ends."""

    create_kb_table: Query
    """sql/queries/knowledge_base_sources.sql:183 `:one`. Insert a pending table into a knowledge base of the org; no
    row when the org has no such knowledge base. The caller checked that every row has a value per column."""

    update_kb_table: Query
    """sql/queries/knowledge_base_sources.sql:192 `:one`. Write every field of a table (the caller merged the change
    into the locked row). New columns or rows make its chunks stale: it goes back to pending, without the error of the
    last attempt. No row when there is no such table."""

    delete_kb_table: Query
    """sql/queries/knowledge_base_sources.sql:214 `:execrows`. Delete a table with its embeddings (cascade): 1, or 0
    when there is none."""

    list_kb_web_urls: Query
    """sql/queries/knowledge_base_sources.sql:221 `:many`. The web URLs of a knowledge base, newest first; the page is
    (page - 1) * page_size. crawl_interval is in seconds, as the API takes it."""

    count_kb_web_urls: Query
    """sql/queries/knowledge_base_sources.sql:234 `:scalar`. How many web URLs list_kb_web_urls would return in all."""

    get_kb_web_url: Query
    """sql/queries/knowledge_base_sources.sql:242 `:one`. A web URL of a knowledge base of the org; crawl_interval in
    seconds."""

    get_kb_web_url_for_update: Query
    """sql/queries/knowledge_base_sources.sql:252 `:one`. A web URL of a knowledge base of the org, locked until the
    transaction ends."""

    create_kb_web_url: Query
    """sql/queries/knowledge_base_sources.sql:263 `:one`. Insert a pending web URL into a knowledge base of the org;
    crawl_interval is given in seconds. No row when the org has no such knowledge base."""

    update_kb_web_url: Query
    """sql/queries/knowledge_base_sources.sql:278 `:one`. Write every field of a web URL (the caller merged the change
    into the locked row); crawl_interval in seconds. No row when there is no such web URL."""

    delete_kb_web_url: Query
    """sql/queries/knowledge_base_sources.sql:295 `:execrows`. Delete a web URL with its embeddings (cascade): 1, or 0
    when there is none."""


class KnowledgeBasesQueries:
    """sql/queries/knowledge_bases.sql: Knowledge bases: the org's stores of sources whose chunks agents search (the RAG
    store)."""

    list_knowledge_bases: Query
    """sql/queries/knowledge_bases.sql:5 `:many`. The org's knowledge bases, newest first; the page is (page - 1) *
    page_size."""

    count_knowledge_bases: Query
    """sql/queries/knowledge_bases.sql:15 `:scalar`. How many knowledge bases list_knowledge_bases would return in
    all."""

    get_knowledge_base: Query
    """sql/queries/knowledge_bases.sql:23 `:one`. A knowledge base of the org."""

    get_knowledge_base_for_update: Query
    """sql/queries/knowledge_bases.sql:31 `:one`. A knowledge base of the org, locked until the transaction ends: a
    partial change merges into it without losing a concurrent one, and while it is being deleted no agent can be given
    it (adding it to agent_knowledge_bases takes a key-share lock on this row, which waits)."""

    create_knowledge_base: Query
    """sql/queries/knowledge_bases.sql:42 `:one`. Insert a knowledge base of the org."""

    update_knowledge_base: Query
    """sql/queries/knowledge_bases.sql:48 `:one`. Write every field of a knowledge base of the org (the caller merged
    the change into the locked row); no row when there is no such knowledge base."""

    delete_knowledge_base: Query
    """sql/queries/knowledge_bases.sql:62 `:execrows`. Delete a knowledge base of the org with its sources and their
    embeddings (cascade): 1, or 0 when there is none. Call after taking it off its agents
    (repositories.agents.remove_knowledge_base_from_agents), so each of them gets a new version."""


class LeadershipQueries:
    """sql/queries/leadership.sql: Leadership of the loops that run once per deployment, and the connection budget of
    `agentpress serve`."""

    try_lock_leadership: Query
    """sql/queries/leadership.sql:3 `:scalar`. Take the session-level advisory lock `key` if no other session holds it;
    true when taken. Held until the session ends (the server releases it when the connection closes, however the process
    died), so it must be sent on a direct connection: a pooler in transaction mode would hand the session to others."""

    get_connection_limit: Query
    """sql/queries/leadership.sql:9 `:scalar`. The connections a role without superuser may open: max_connections less
    those kept for superusers."""

    holds_leadership: Query
    """sql/queries/leadership.sql:14 `:scalar`. Whether this session holds the advisory lock `key` (a bigint key is
    classid, its high 32 bits, and objid, its low ones, with objsubid 1); the leader asks each poll, and a connection
    that cannot answer has lost the lock with its session."""


class LlmsQueries:
    """sql/queries/llms.sql: Model providers and models: an org's LLM providers (their API keys encrypted by the service
    before they get here) and the models agents may use."""

    list_model_providers: Query
    """sql/queries/llms.sql:5 `:many`. The org's model providers, by name; the page is (page - 1) * page_size."""

    count_model_providers: Query
    """sql/queries/llms.sql:15 `:scalar`. How many model providers list_model_providers would return in all: an
    index-only count."""

    get_model_provider: Query
    """sql/queries/llms.sql:23 `:one`. A model provider of the org; no row for an unknown id or another org's."""

    get_model_provider_for_update: Query
    """sql/queries/llms.sql:31 `:one`. A model provider of the org, locked until the transaction ends: partial updates
    read, merge and write it back without losing a concurrent change."""

    create_model_provider: Query
    """sql/queries/llms.sql:41 `:one`. Insert a model provider; api_key is already encrypted (or null), bound to the id
    the service chose. A name the org already uses fails model_providers_org_id_name_key."""

    update_model_provider: Query
    """sql/queries/llms.sql:48 `:one`. Write every field of a model provider. api_key changes when set_api_key is true:
    to the given ciphertext, or to null to remove the key. Otherwise a new kind or base_url removes it: a key must not
    follow its provider's address to a server it was never meant for. No row for an unknown id or another org's."""

    delete_model_provider: Query
    """sql/queries/llms.sql:69 `:execrows`. Delete a model provider and its models (models_provider_id_fkey cascades):
    1, or 0 when the org has no such provider."""

    list_models: Query
    """sql/queries/llms.sql:77 `:many`. The org's models, by name, optionally of one provider only, enabled or not; the
    page is (page - 1) * page_size."""

    count_models: Query
    """sql/queries/llms.sql:91 `:scalar`. How many models list_models would return in all, with the same filters."""

    get_model: Query
    """sql/queries/llms.sql:101 `:one`. A model of the org; no row for an unknown id or another org's."""

    get_model_for_update: Query
    """sql/queries/llms.sql:110 `:one`. A model of the org, locked until the transaction ends, for a partial update."""

    clear_default_model: Query
    """sql/queries/llms.sql:120 `:execrows`. Un-default the org's default model, in the transaction that makes another
    the default: at most one default per org is models_org_id_is_default_idx's rule. 1, or 0 when there was none."""

    create_model: Query
    """sql/queries/llms.sql:129 `:one`. Insert a model. A provider of another org fails models_provider_id_fkey, a
    second default models_org_id_is_default_idx, temperature outside 0..2 or max_tokens <= 0 their checks."""

    update_model: Query
    """sql/queries/llms.sql:142 `:one`. Write every field of a model; the same constraints as create_model hold. No row
    for an unknown id or another org's."""

    delete_model: Query
    """sql/queries/llms.sql:161 `:execrows`. Delete a model: 1, or 0 when the org has no such model."""


class MessageSearchQueries:
    """sql/queries/message_search.sql: Full-text search over the messages of a user's threads in an org."""

    search_messages: Query
    """sql/queries/message_search.sql:8 `:many`. One page of the matches, best first (then newest), each with its
    thread's name and a snippet: the message's text, HTML-escaped, cut to the best fragments around the matches, which
    are wrapped in <mark>...</mark>. ts_headline re-parses the whole text, so it runs in the outer query on the rows of
    the page only; the inner query's LIMIT keeps it from being merged into the outer one. Cover density ranking
    (ts_rank_cd), divided by 1 + log(length) so that long messages do not win by length alone, and scaled to 0..1. Every
    row carries the total of the matches: the ranking reads them all anyway, and the window count is taken before the
    LIMIT, so a page costs one search instead of two (a common word over 1M messages: about 100 ms instead of 190 ms,
    bench/scenarios/fulltext.py)."""

    count_message_matches: Query
    """sql/queries/message_search.sql:43 `:scalar`. How many messages search_messages finds in all: for a page past the
    last, whose rows cannot carry the total."""


class MessagesQueries:
    """sql/queries/messages.sql: Messages of a thread, oldest first, with the reader's own feedback."""

    get_thread_owner: Query
    """sql/queries/messages.sql:4 `:scalar`. The user whose thread this is, for an org API key with the message scopes:
    a key acts for the whole org and reads and writes a thread as its owner's (the thread queries and the cache keys
    name the owner). Null when the org has no such thread."""

    list_messages: Query
    """sql/queries/messages.sql:14 `:many`. The first messages of a thread, oldest first, each with the user's feedback
    or null."""

    list_messages_after: Query
    """sql/queries/messages.sql:30 `:many`. The keyset page of list_messages after the position (created_at, id) of the
    last message of the previous page; the position is an index condition, so a deep page costs what the first does."""

    append_messages: Query
    """sql/queries/messages.sql:48 `:many`. Append messages (a JSON array of {role, parts, text_content, model,
    input_tokens, output_tokens}) to a thread of the user, all or none, in one statement: one round trip, atomic without
    a transaction block. The thread's row is locked first, so appends to one thread take turns; the messages go in in
    array order with created_at = clock_timestamp(), so it increases along the array and, under the lock, across
    appends; then message_count counts them and last_message_at moves to the last one. No rows when the user has no such
    thread."""

    delete_message: Query
    """sql/queries/messages.sql:85 `:execrows`. Delete a message of a thread (with its feedback), under the thread's
    lock; remove_thread_messages follows."""


class OauthQueries:
    """sql/queries/oauth.sql: OAuth: sign-ins in flight (oauth_states) and provider accounts linked to users
    (oauth_connections)."""

    create_oauth_state: Query
    """sql/queries/oauth.sql:4 `:exec`. Remember a sign-in in flight: the hashed state, the encrypted PKCE verifier and,
    when linking, the signed-in user."""

    delete_expired_oauth_states: Query
    """sql/queries/oauth.sql:10 `:execrows`. Forget sign-ins that were abandoned at the provider."""

    consume_oauth_state: Query
    """sql/queries/oauth.sql:17 `:one`. Spend a state: the row is deleted as it is read, so a state works once. No row
    when it is unknown, already used, expired, issued for another provider or started in another browser (the nonce
    cookie set at the start must come back: a link sent to someone else fails)."""

    get_oauth_connection: Query
    """sql/queries/oauth.sql:30 `:one`. The link of a provider account, by the provider's id for it."""

    upsert_oauth_connection: Query
    """sql/queries/oauth.sql:38 `:one`. Link a provider account to a user, or store fresh tokens on the existing link. A
    link is never moved to another user: then no row is returned. A provider that sends no new refresh token (Google
    sends one only at first consent) keeps the stored one. A new link remembers whether the user's email was unverified
    then (a password reset removes such links); a refreshed one keeps what it had."""

    delete_unverified_oauth_links: Query
    """sql/queries/oauth.sql:60 `:scalar`. A password reset proves who holds the address: remove the user's links made
    while it was unverified (someone who registered another's address could have linked their own provider account),
    with the provider ids they set on the user, through which a sign-in would find the user again. How many links
    went."""

    delete_oauth_states_for_user: Query
    """sql/queries/oauth.sql:86 `:execrows`. Forget the user's links in flight: a password reset ends them with the
    sessions that started them. The table holds only ten minutes of sign-ins, so no index on user_id."""


class OrgsQueries:
    """sql/queries/orgs.sql: Orgs and their members."""

    create_org_member: Query
    """sql/queries/orgs.sql:3 `:one`. Add a user to an org with a role; a second row for the same pair is a 409."""

    get_org_access: Query
    """sql/queries/orgs.sql:9 `:one`. An org and the user's role in it (null when not a member); no row when the org
    does not exist. Runs on every tenant request: one probe of each index."""

    list_orgs_for_user: Query
    """sql/queries/orgs.sql:19 `:many`. The orgs a user belongs to, with their role in each, by name; the page is (page
    - 1) * page_size. The user's memberships come from the index on (user_id, org_id), each org by its primary key."""

    count_orgs_for_user: Query
    """sql/queries/orgs.sql:31 `:scalar`. How many orgs list_orgs_for_user would return in all: an index-only count."""

    get_org: Query
    """sql/queries/orgs.sql:39 `:one`. An org by id."""

    get_org_by_slug: Query
    """sql/queries/orgs.sql:47 `:one`. An org by its slug (operator commands name orgs so)."""

    create_org: Query
    """sql/queries/orgs.sql:55 `:one`. Insert an org; a slug already taken answers 409 naming slug (orgs_slug_key)."""

    update_org: Query
    """sql/queries/orgs.sql:61 `:one`. Rename an org or change its slug; a null parameter leaves the field as it is. No
    row when the org does not exist."""

    delete_org: Query
    """sql/queries/orgs.sql:73 `:execrows`. Delete an org with its members and invitations (ON DELETE CASCADE). The
    default org is never deleted, even when the caller's check raced with a change: then no row is deleted."""

    list_org_members: Query
    """sql/queries/orgs.sql:81 `:many`. An org's members with who they are, by email; the page is (page - 1) *
    page_size. The org's memberships come from the primary key (org_id, user_id), each user by theirs."""

    count_org_members: Query
    """sql/queries/orgs.sql:94 `:scalar`. How many members list_org_members would return in all: an index-only count."""

    lock_org_owners: Query
    """sql/queries/orgs.sql:102 `:scalar`. The ids of an org's owners, their rows locked until the transaction ends.
    Every change that could remove an owner takes these locks first, in user_id order (so two such changes never
    deadlock), and the second waits for the first and then sees its result: two owners cannot demote or remove each
    other at once and leave the org without one."""

    get_org_member_for_update: Query
    """sql/queries/orgs.sql:118 `:one`. One membership, locked until the transaction ends; no row when the user is not a
    member. Both keys of org_members hold the exact pair; the planner takes the (user_id, org_id) one."""

    update_org_member_role: Query
    """sql/queries/orgs.sql:128 `:one`. Give a member another role; returns the member as list_org_members shows them,
    no row when the user is not a member. The pair is found as in get_org_member_for_update."""

    delete_org_member: Query
    """sql/queries/orgs.sql:140 `:execrows`. Remove a user from an org: 1, or 0 when they were not a member. The pair is
    found as in get_org_member_for_update."""

    add_org_member: Query
    """sql/queries/orgs.sql:148 `:one`. Add a user to an org unless they already belong to it: no row then, instead of
    an error, so that the caller can say so in its own words."""

    has_org_member_with_email: Query
    """sql/queries/orgs.sql:156 `:scalar`. Whether the user with this email (any case) already belongs to the org: the
    user by email, then an index-only probe for the pair."""

    list_org_ids: Query
    """sql/queries/orgs.sql:168 `:scalar`. The ids of every org (operator commands that go over all of them)."""

    list_org_member_ids: Query
    """sql/queries/orgs.sql:173 `:scalar`. Who belongs to the org: read before the org is deleted (under
    list_api_key_token_hashes's lock), so that the session cache can forget what it holds of them once the delete
    commits."""


class OutboxQueries:
    """sql/queries/outbox.sql: The outbox of mail to send (invitations, password resets), and its delivery."""

    create_outbox_email: Query
    """sql/queries/outbox.sql:3 `:one`. Queue a message; it is sent after the transaction that queued it commits, or
    never. The id comes from the service: the encrypted body is bound to it."""

    claim_next_email: Query
    """sql/queries/outbox.sql:10 `:one`. Take the message that is due longest and lease it for lease_seconds: no other
    sender takes it while this one sends, with no transaction held open meanwhile. The lease outlives the slowest send
    (services/mail.py sums its SMTP timeouts), so a message is handed to SMTP by one sender at a time; one whose sender
    dies mid-send is retried when the lease ends: sent at least once, never lost."""

    mark_email_sent: Query
    """sql/queries/outbox.sql:30 `:exec`. Record a delivered message."""

    mark_email_failed: Query
    """sql/queries/outbox.sql:36 `:exec`. Record why an attempt failed, and wait before the next one by a backoff that
    doubles with each attempt (10 s, 20 s, ... at most an hour), counted from the failure rather than the claim."""

    abandon_email: Query
    """sql/queries/outbox.sql:44 `:exec`. Give up on a message that can never be sent (its body no longer decrypts)."""

    count_outbox_backlog: Query
    """sql/queries/outbox.sql:50 `:scalar`. Mail still to send for /metrics: unsent, with attempts left (abandoned mail
    is not a backlog), through the partial index of unsent mail. Run under a short statement timeout
    (web/metrics.py)."""


class PasswordResetsQueries:
    """sql/queries/password_resets.sql: Password resets: single-use tokens, stored as their SHA-256, valid for an
    hour."""

    create_password_reset: Query
    """sql/queries/password_resets.sql:3 `:one`. Issue a reset token for a user; the caller supersedes older ones in the
    same transaction."""

    supersede_password_resets: Query
    """sql/queries/password_resets.sql:9 `:execrows`. Void a user's unused reset tokens: only the newest one works."""

    use_password_reset: Query
    """sql/queries/password_resets.sql:17 `:scalar`. Spend a live reset token, once: the user id it was for, or null
    when the token is unknown, used, superseded or expired. One statement, so two requests cannot both spend it."""

    is_password_reset_live: Query
    """sql/queries/password_resets.sql:27 `:scalar`. Whether a reset token could be spent now (use_password_reset spends
    it, checking again)."""

    create_password_reset_request: Query
    """sql/queries/password_resets.sql:37 `:exec`. Queue a reset request as it came: the same one statement whether or
    not the address has an account (the lookup happens in the background, claim_password_reset_request)."""

    claim_password_reset_request: Query
    """sql/queries/password_resets.sql:43 `:one`. Take the oldest queued request off the queue; no row when it is empty.
    SKIP LOCKED: several processes work through the queue without waiting for each other. The caller's transaction holds
    the request until its reset and mail are queued (a failure puts it back)."""


class PersonasQueries:
    """sql/queries/personas.sql: Personas: a reusable name, prompt, tone and style (jsonb) that agents take on."""

    list_personas: Query
    """sql/queries/personas.sql:4 `:many`. The org's personas, newest first; the page is (page - 1) * page_size."""

    count_personas: Query
    """sql/queries/personas.sql:14 `:scalar`. How many personas list_personas would return in all: an index-only
    count."""

    get_persona: Query
    """sql/queries/personas.sql:22 `:one`. A persona of the org."""

    get_persona_for_update: Query
    """sql/queries/personas.sql:30 `:one`. A persona of the org, locked until the transaction ends: a partial change
    reads, merges and writes it without losing a concurrent one."""

    create_persona: Query
    """sql/queries/personas.sql:40 `:one`. Insert a persona; style is a JSON object (personas_style_check)."""

    update_persona: Query
    """sql/queries/personas.sql:46 `:one`. Write every field of a persona of the org (the caller merged the change into
    the locked row); no row when there is no such persona."""

    delete_persona: Query
    """sql/queries/personas.sql:61 `:execrows`. Delete a persona of the org: 1, or 0 when there is none. A persona that
    agents still use is refused by agents_persona_id_fkey."""


class SchedulesQueries:
    """sql/queries/schedules.sql: Schedules: templates that turn into tasks, once (run_at) or on a cron recurrence (cron
    in timezone)."""

    list_schedules: Query
    """sql/queries/schedules.sql:6 `:many`. The org's schedules, newest first; the page is (page - 1) * page_size."""

    count_schedules: Query
    """sql/queries/schedules.sql:17 `:scalar`. How many schedules the org has in all."""

    get_schedule: Query
    """sql/queries/schedules.sql:25 `:one`. A schedule of the org."""

    get_schedule_for_update: Query
    """sql/queries/schedules.sql:34 `:one`. A schedule of the org, locked until the transaction ends: a partial change
    merges into it, and the scheduler (which skips locked rows) does not fire it half-changed."""

    create_schedule: Query
    """sql/queries/schedules.sql:45 `:one`. Insert a schedule; an agent that is not the org's is refused by
    schedules_agent_id_fkey, a kind without its fields by schedules_kind_check."""

    update_schedule: Query
    """sql/queries/schedules.sql:58 `:one`. Write every field of a schedule of the org (the caller merged the change
    into the locked row and computed next_run_at); no row when there is no such schedule."""

    delete_schedule: Query
    """sql/queries/schedules.sql:78 `:execrows`. Delete a schedule of the org: 1, or 0 when there is none. Its tasks
    stay, without schedule_id."""

    lock_due_schedule: Query
    """sql/queries/schedules.sql:85 `:one`. The scheduler: the most overdue enabled schedule, locked until the
    transaction ends; schedules another scheduler holds are skipped, so two schedulers never fire the same one. fired_at
    is the transaction's now(), the time the next occurrence is counted from."""

    fire_schedule: Query
    """sql/queries/schedules.sql:98 `:scalar`. Turn a locked schedule into one queued task (its agent and input) and
    move it on: next_run_at is the next occurrence the scheduler allows (null, and disabled, for a fired once-schedule).
    Returns the task's id; null when the org already has `max_queued` queued tasks (MAX_QUEUED_TASKS_PER_ORG): the
    occurrence is dropped, but the schedule moves on all the same."""

    disable_schedule: Query
    """sql/queries/schedules.sql:124 `:exec`. Switch off a schedule the scheduler cannot step (its cron or timezone no
    longer parses), so that it does not hold up the others."""


class SecretsQueries:
    """sql/queries/secrets.sql: Every column that holds a ciphertext, walked by `agentpress secrets rotate`: each page
    is read by primary key after the last one seen, and each value is replaced only if it is still the one read (a
    concurrent write wins; its value is already under the current key)."""

    list_sealed_outbox_bodies: Query
    """sql/queries/secrets.sql:5 `:many`. The outbox's encrypted bodies, a page after `after` (a uuid; the nil uuid for
    the first page)."""

    reseal_outbox_body: Query
    """sql/queries/secrets.sql:14 `:execrows`. Replace a body's ciphertext: 1, or 0 when it changed since it was
    read."""

    list_sealed_provider_keys: Query
    """sql/queries/secrets.sql:20 `:many`. The model providers' encrypted API keys, a page after `after` (the nil uuid
    for the first page). No plan contract: a table of a few rows an org, walked once a rotation, may well be scanned."""

    reseal_provider_key: Query
    """sql/queries/secrets.sql:29 `:execrows`. Replace a provider's key's ciphertext: 1, or 0 when it changed since it
    was read."""

    list_sealed_oauth_tokens: Query
    """sql/queries/secrets.sql:35 `:many`. The OAuth connections' encrypted tokens, with the identity they are bound to,
    a page after `after` (the nil uuid for the first page). No plan contract, as for list_sealed_provider_keys."""

    reseal_oauth_tokens: Query
    """sql/queries/secrets.sql:44 `:execrows`. Replace a connection's tokens' ciphertexts: 1, or 0 when either changed
    since it was read."""

    list_sealed_oauth_states: Query
    """sql/queries/secrets.sql:52 `:many`. The sign-ins in flight's encrypted PKCE verifiers, a page after `after` (a
    state hash; empty for the first page)."""

    reseal_oauth_state: Query
    """sql/queries/secrets.sql:62 `:execrows`. Replace a verifier's ciphertext: 1, or 0 when the state was spent or
    changed since it was read."""


class SessionsQueries:
    """sql/queries/sessions.sql: Sessions: bearer tokens, stored as their SHA-256 only."""

    create_session: Query
    """sql/queries/sessions.sql:3 `:one`. Start a session for a user; the caller keeps the token, the table its hash.
    The client's address comes as the text the service read it as, and is parsed here."""

    get_session_user: Query
    """sql/queries/sessions.sql:10 `:one`. The user behind a live session token (not expired, not idle longer than the
    idle timeout, not revoked, user not disabled), with their home org, where a request that names no org acts: the
    default org if they belong to it, else the org they joined first; null when they belong to none. Runs on every
    authenticated request, so both come in one round trip: one probe of each index."""

    touch_session: Query
    """sql/queries/sessions.sql:38 `:exec`. Note that a session was used; the caller does it at most once a minute per
    session."""

    list_sessions_for_user: Query
    """sql/queries/sessions.sql:44 `:many`. A user's live sessions, newest first."""

    revoke_session: Query
    """sql/queries/sessions.sql:54 `:execrows`. Revoke one of the user's own sessions; 0 rows when it is not theirs or
    already revoked."""

    revoke_sessions_for_user: Query
    """sql/queries/sessions.sql:60 `:execrows`. Revoke every live session of a user: a password reset, the user
    disabled, or sign out everywhere."""

    list_session_token_hashes_for_users: Query
    """sql/queries/sessions.sql:66 `:scalar`. The token hashes of these users' sessions that the session cache may still
    hold: live ones, and ones revoked or expired within `recent` (a cached entry lives at most SESSION_CACHE_SECONDS).
    Read after a change to the users commits, so that every entry filled before it is found (web/access.py)."""


class StatementsQueries:
    """sql/queries/statements.sql: Statement statistics from pg_stat_statements, for `agentpress db top`, which names
    each statement after the query of sql/queries/ it comes from (src/agentpress/db/querystats.py: PostgreSQL 18 drops
    the leading /* <file>.<name> */ from the text it keeps)."""

    list_top_statements: Query
    """sql/queries/statements.sql:6 `:many`. The statements run in this database with the most total execution time
    since the statistics were last reset. pg_stat_statements counts a statement apart per user, nesting level and
    parameter types (psycopg sends an int as int2, int4 or int8 by its value); summed here per text. The view holds at
    most pg_stat_statements.max entries (5000 by default): no index is needed."""


class SystemQueries:
    """sql/queries/system.sql: Queries about the service's own state, used by the readiness check and /metrics."""

    list_applied_migrations: Query
    """sql/queries/system.sql:3 `:many`. The migrations yoyo has applied, oldest first; /ready compares them with
    migrations/."""

    get_replication_status: Query
    """sql/queries/system.sql:10 `:one`. Whether this server is a hot standby and how far its replay trails; /ready asks
    the analytics database (ANALYTICS_DATABASE_URL). Both lags are null on a primary. replay_lag_bytes: WAL received
    from the primary and not replayed yet, what reports cannot see yet. replay_lag_seconds: since the primary committed
    the last transaction replayed here, so it also grows while the primary commits nothing."""

    list_session_limits: Query
    """sql/queries/system.sql:24 `:many`. The values of these settings on this connection, in milliseconds for the time
    limits; behind PgBouncer the pools compare them, once per new connection, with what the settings ask for."""

    set_local_statement_timeout: Query
    """sql/queries/system.sql:32 `:exec`. SET LOCAL statement_timeout for the rest of the transaction (set_config takes
    a parameter, SET does not): the bound on /metrics' readings of the queue and the outbox, shorter than a
    request's."""


class TasksQueries:
    """sql/queries/tasks.sql: Tasks: one execution of an agent with an input, handed to workers through a leased
    queue."""

    list_tasks: Query
    """sql/queries/tasks.sql:10 `:many`. The org's tasks, newest first, optionally only of one status, agent and
    schedule, and only those created by one user (what a member sees); the page is (page - 1) * page_size."""

    count_tasks: Query
    """sql/queries/tasks.sql:26 `:scalar`. How many tasks list_tasks would return in all."""

    get_task: Query
    """sql/queries/tasks.sql:38 `:one`. A task of the org."""

    create_task: Query
    """sql/queries/tasks.sql:47 `:one`. Queue a task; run_after null means now. No row when the org already has
    `max_queued` queued tasks (MAX_QUEUED_TASKS_PER_ORG): the count stops there, so it costs at most that many index
    entries. Two creates racing past the check can exceed the cap by one each, never more. An agent or thread of another
    org is refused by tasks_agent_id_fkey / tasks_thread_id_fkey."""

    cancel_task: Query
    """sql/queries/tasks.sql:68 `:one`. Cancel a queued or running task of the org, when created_by is set only one that
    user created (members cancel their own); no row when there is none or it has finished. A running task's worker
    learns it on its next heartbeat or completion (no row there either)."""

    claim_tasks: Query
    """sql/queries/tasks.sql:81 `:many`. Hand up to `limit` tasks to a worker, fairly across orgs: first running ones
    whose lease expired (their worker is gone), then queued ones whose run_after has passed, org by org, the org served
    least recently first (never served, then the oldest last_claimed_at in task_claim_turns), and within an org its
    highest priority and oldest first. So one org's flood at the highest priority takes one turn in each round, and
    another org's due task is claimed within as many claims as there are orgs with due tasks; priority orders an org's
    own tasks only. One statement throughout: the orgs with queued tasks are found by a loose index scan of
    tasks_org_id_queue_idx (one probe per org: its cost grows with the orgs that have queued tasks, not with the tasks),
    sorted by their turn, and a nested loop in that order takes each org's best due tasks through the same index. Rows
    are locked with SKIP LOCKED as the loop reaches them, and the loop stops at `limit`: concurrent claims never wait on
    nor take the same task, and one whose first org's tasks are all taken moves on to the next org. The UPDATE marks the
    chosen ones running with a fresh lease, and the org's turn is recorded in the same statement (upserts in org_id
    order, so two claims never deadlock on them). org_id NULL claims in every org (the worker command); agent_ids NULL
    claims for every agent. A task whose lease expired on its last attempt is not run again but failed, in the same
    statement (a worker that dies on a task every time must not take the queue down with it). Each claimed task gets a
    fresh lease token, returned once as lease_token and stored as its SHA-256 (what security.hash_token computes): 32
    bytes of two gen_random_uuid() (PostgreSQL's strong random source; 244 random bits, the rest are version bits),
    base64url like session tokens. Made in `chosen`, which PostgreSQL evaluates once (it holds volatile functions), so
    the returned token is the one whose hash is stored."""

    heartbeat_task: Query
    """sql/queries/tasks.sql:202 `:one`. Extend the lease of a task the worker holds: running, under the lease token its
    claim returned, lease not yet expired. No row otherwise (lost, reclaimed, cancelled or finished): the worker should
    stop working on it."""

    complete_task: Query
    """sql/queries/tasks.sql:216 `:one`. Record a task's output: succeeded, if the lease token is still the task's and
    its lease has not expired; no row otherwise (the lease expired and maybe another attempt has it, or it was cancelled
    or has finished)."""

    fail_task: Query
    """sql/queries/tasks.sql:231 `:one`. Record a failed attempt of a task the worker holds (same conditions as
    complete_task). Retryable with attempts left: queued again after 2^attempt seconds (at most an hour), unclaimed;
    else failed."""

    count_tasks_in_queue: Query
    """sql/queries/tasks.sql:254 `:one`. The queue's depth for /metrics: tasks waiting (queued, due or not) and being
    worked on (running), over every org. Each count reads only its status's partial index; the finished tasks, which
    only grow, are not counted. Run under a short statement timeout (web/metrics.py), at most every few seconds a
    process."""


class ThreadsQueries:
    """sql/queries/threads.sql: Threads: a user's conversations in an org."""

    list_threads: Query
    """sql/queries/threads.sql:5 `:many`. A user's threads in the org, newest first, optionally of one agent; the page
    is (page - 1) * page_size, and the first keyset page is offset 0."""

    list_threads_counted: Query
    """sql/queries/threads.sql:18 `:many`. An offset page of list_threads, each row carrying how many threads the
    filters match in all: the page and its total in one statement (the count is an InitPlan, run once). A page past the
    end has no row to carry the total; count_threads counts it then."""

    count_threads: Query
    """sql/queries/threads.sql:36 `:scalar`. How many threads list_threads would return in all (for a page past the end
    of list_threads_counted)."""

    list_threads_after: Query
    """sql/queries/threads.sql:45 `:many`. The keyset page of list_threads after the position (created_at, id) of the
    last thread of the previous page. The position is an index condition, so page 10,000 costs what page 1 does."""

    search_threads: Query
    """sql/queries/threads.sql:59 `:many`. list_threads for the threads whose name matches a LIKE pattern, in any case.
    A user has few threads next to the table, so the user's index range with the pattern as a filter serves it (or the
    org's, for a user who holds most of the org's threads)."""

    search_threads_counted: Query
    """sql/queries/threads.sql:73 `:many`. An offset page of search_threads, each row carrying how many threads match in
    all, as list_threads_counted does; count_threads_matching counts a page past the end."""

    count_threads_matching: Query
    """sql/queries/threads.sql:91 `:scalar`. How many threads search_threads would return in all (for a page past the
    end of search_threads_counted)."""

    search_threads_after: Query
    """sql/queries/threads.sql:100 `:many`. The keyset page of search_threads after the position (created_at, id)."""

    get_thread: Query
    """sql/queries/threads.sql:113 `:one`. A thread of the user in the org."""

    get_thread_for_update: Query
    """sql/queries/threads.sql:122 `:one`. A thread of the user in the org, locked until the transaction ends: writes to
    its messages take turns."""

    create_thread: Query
    """sql/queries/threads.sql:132 `:one`. Start a thread for the user. An agent_id that is not an agent of the org
    fails threads_agent_id_fkey."""

    update_thread: Query
    """sql/queries/threads.sql:139 `:one`. Change some fields of a thread of the user, in one statement: a null name,
    is_archived or metadata keeps the value (the API refuses nulls for them); agent_id is written only when
    set_agent_id, so that null can clear it. No row when there is no such thread."""

    delete_thread: Query
    """sql/queries/threads.sql:155 `:execrows`. Delete a thread of the user, with its messages and their feedback (the
    foreign keys cascade)."""

    remove_thread_messages: Query
    """sql/queries/threads.sql:162 `:execrows`. After deleting messages of a thread locked by get_thread_for_update:
    count them off and move last_message_at to the newest message left."""


class ToolsQueries:
    """sql/queries/tools.sql: Tools agents may call: functions, HTTP endpoints and MCP servers."""

    list_tools: Query
    """sql/queries/tools.sql:5 `:many`. The org's tools by name, optionally only of one kind and only enabled or
    disabled ones; the page is (page - 1) * page_size."""

    count_tools: Query
    """sql/queries/tools.sql:18 `:scalar`. How many tools list_tools would return in all."""

    get_tool: Query
    """sql/queries/tools.sql:28 `:one`. A tool of the org."""

    get_tool_for_update: Query
    """sql/queries/tools.sql:36 `:one`. A tool of the org, locked until the transaction ends: a partial change merges
    into it without losing a concurrent one, and while it is being deleted no agent can be given it (adding it to
    agent_tools takes a key-share lock on this row, which waits)."""

    create_tool: Query
    """sql/queries/tools.sql:47 `:one`. Insert a tool; a name the org already uses is refused by
    tools_org_id_name_key."""

    update_tool: Query
    """sql/queries/tools.sql:55 `:one`. Write every field of a tool of the org (the caller merged the change into the
    locked row); no row when there is no such tool."""

    delete_tool: Query
    """sql/queries/tools.sql:71 `:execrows`. Delete a tool of the org: 1, or 0 when there is none. Call after taking it
    off its agents (repositories.agents.remove_tool_from_agents), so each of them gets a new version."""


class UsersQueries:
    """sql/queries/users.sql: Users: registration, sign-in lookups and platform administration."""

    create_user: Query
    """sql/queries/users.sql:3 `:one`. Insert a user; the unique email (citext: any case) and username answer 409
    through the error mapping."""

    get_user: Query
    """sql/queries/users.sql:16 `:one`. A user by id."""

    get_user_by_email: Query
    """sql/queries/users.sql:25 `:one`. A user by email, in any case."""

    get_user_credentials_by_email: Query
    """sql/queries/users.sql:34 `:one`. What sign-in checks, by email in any case."""

    update_user_password_hash: Query
    """sql/queries/users.sql:42 `:execrows`. Store a new password hash: a changed password, or a bcrypt hash upgraded to
    argon2id."""

    list_users: Query
    """sql/queries/users.sql:48 `:many`. Users by email, optionally those whose email or username matches a LIKE pattern
    (any case)."""

    count_users: Query
    """sql/queries/users.sql:59 `:scalar`. How many users list_users would return in all."""

    update_user_admin_fields: Query
    """sql/queries/users.sql:67 `:one`. Change a user's platform role or disabled flag; a null parameter leaves the
    field as it is."""

    get_user_by_github_id: Query
    """sql/queries/users.sql:77 `:one`. A user by their GitHub account id: OAuth sign-in of a user imported with a
    GitHub id but no oauth_connections row yet."""

    get_user_by_google_id: Query
    """sql/queries/users.sql:87 `:one`. A user by their Google account id: OAuth sign-in of a user imported with a
    Google id but no oauth_connections row yet."""

    update_user_github_identity: Query
    """sql/queries/users.sql:97 `:one`. Record the GitHub account a signed-in user linked; the most recently linked one
    wins. Another user with the same github_id answers 409 through the error mapping."""

    update_user_google_id: Query
    """sql/queries/users.sql:106 `:one`. Record the Google account a signed-in user linked; the most recently linked one
    wins. Another user with the same google_id answers 409 through the error mapping."""


class ServiceQueries:
    """Every query file of sql/queries/, by name: the type of agentpress.db.queries.queries."""

    agents: AgentsQueries
    analytics: AnalyticsQueries
    api_keys: ApiKeysQueries
    catalog: CatalogQueries
    channels: ChannelsQueries
    config: ConfigQueries
    email_verifications: EmailVerificationsQueries
    embedding_jobs: EmbeddingJobsQueries
    embeddings: EmbeddingsQueries
    feedback: FeedbackQueries
    idempotency_keys: IdempotencyKeysQueries
    invitations: InvitationsQueries
    kb_search: KbSearchQueries
    knowledge_base_sources: KnowledgeBaseSourcesQueries
    knowledge_bases: KnowledgeBasesQueries
    leadership: LeadershipQueries
    llms: LlmsQueries
    message_search: MessageSearchQueries
    messages: MessagesQueries
    oauth: OauthQueries
    orgs: OrgsQueries
    outbox: OutboxQueries
    password_resets: PasswordResetsQueries
    personas: PersonasQueries
    schedules: SchedulesQueries
    secrets: SecretsQueries
    sessions: SessionsQueries
    statements: StatementsQueries
    system: SystemQueries
    tasks: TasksQueries
    threads: ThreadsQueries
    tools: ToolsQueries
    users: UsersQueries
