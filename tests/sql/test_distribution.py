"""Citus-ready by construction: every tenant table's keys and the foreign keys between tenant tables include org_id."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest

# A tenant table is a table with an org_id column: under Citus it is distributed by org_id, so its
# primary key and every unique constraint or index must include org_id (a shard can only check
# uniqueness within itself), and a foreign key to another tenant table must include org_id on both
# ends (so both rows live in the same shard group). See docs/scaling.md.
DISTRIBUTION_COLUMN = "org_id"

# The tables without org_id and what each becomes under Citus. A new table without org_id fails
# until it is listed here with a reason: deciding is part of adding the table.
REFERENCE_TABLES = {
    "orgs": "reference table: the tenants themselves, few and small; every tenant table keeps its "
    "foreign key to orgs(id) (distributed to reference is allowed). Could instead be distributed by "
    "id, co-located with the tenant tables.",
    "users": "reference table: a user belongs to several orgs (org_members), so users has no single "
    "tenant; small next to messages, read by joins from every shard.",
    "sessions": "reference or coordinator-local table: keyed by a token hash, looked up before the "
    "org is known; never joined with tenant tables, and the Redis session cache takes most reads.",
    "oauth_connections": "reference table: a user's linked GitHub or Google account, global like users.",
    "oauth_states": "coordinator-local table: short-lived login state keyed by its hash, before any org.",
    "email_verifications": "reference or coordinator-local table: per user, looked up by token hash.",
    "password_resets": "reference or coordinator-local table: per user, looked up by token hash.",
    "password_reset_requests": "coordinator-local table: a throttle on reset requests per address.",
    "email_outbox": "coordinator-local table: a queue claimed with SKIP LOCKED, never joined.",
}


@dataclass(frozen=True)
class Allowed:
    """A table or constraint the check allows, and why."""

    constraint: str
    reason: str


# Tenant tables and constraints the rules do not fit, left so on purpose, each with its reason (a
# table is named for a table-level violation, otherwise the constraint).
EXCEPTIONS: list[Allowed] = [
    Allowed(
        "analytics_daily",
        "no primary key: a row's key is (org_id, day, agent_id) with agent_id NULL on the org's total "
        "row, which a primary key cannot hold; UNIQUE NULLS NOT DISTINCT (org_id, day, agent_id) is the "
        "key, and it includes org_id, which is all Citus asks.",
    ),
    Allowed(
        "analytics_daily_users",
        "no primary key, for the reason analytics_daily has none: UNIQUE NULLS NOT DISTINCT "
        "(org_id, day, agent_id, user_id) is the key, and it includes org_id.",
    ),
    Allowed(
        "api_keys_token_hash_key",
        "an API key is looked up by its token's hash before its org is known; the hash of a 256-bit "
        "random token is unique by construction, and under Citus the lookup moves to a reference "
        "table (token_hash -> org_id, id) or the token carries its org id.",
    ),
    Allowed(
        "invitations_token_hash_key",
        "an invitation is accepted by its token's hash before its org is known: the same design as "
        "api_keys_token_hash_key.",
    ),
]

# What the catalogue says. Tables in public, without yoyo's own; a tenant table has an org_id column.
TABLES = """
SELECT c.oid::regclass::text AS name,
       EXISTS (SELECT FROM pg_attribute AS a
               WHERE a.attrelid = c.oid AND a.attname = %(column)s AND a.attnum > 0 AND NOT a.attisdropped)
         AS is_tenant
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE '%%yoyo%%'
ORDER BY 1
"""

# Primary keys, unique constraints and unique indexes that back no constraint, with whether their
# columns include the distribution column.
KEYS = """
SELECT con.conrelid::regclass::text AS table_name, con.conname AS name,
       CASE con.contype WHEN 'p' THEN 'primary key' ELSE 'unique constraint' END AS kind,
       EXISTS (SELECT FROM pg_attribute AS a
               WHERE a.attrelid = con.conrelid AND a.attname = %(column)s AND a.attnum = ANY (con.conkey))
         AS has_column
FROM pg_constraint AS con
WHERE con.contype IN ('p', 'u') AND con.connamespace = 'public'::regnamespace
UNION ALL
SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, 'unique index',
       EXISTS (SELECT FROM pg_attribute AS a
               WHERE a.attrelid = i.indrelid AND a.attname = %(column)s
                 AND a.attnum = ANY (i.indkey::smallint[]))
FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
WHERE i.indisunique AND c.relnamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT FROM pg_constraint AS con WHERE con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x'))
ORDER BY 1, 2
"""

# Foreign keys, with whether some position pairs org_id on the referencing side with org_id on the
# referenced side (a key that includes org_id on one end only does not keep both rows in one shard).
FOREIGN_KEYS = """
SELECT con.conrelid::regclass::text AS table_name, con.conname AS name,
       con.confrelid::regclass::text AS referenced,
       EXISTS (SELECT FROM unnest(con.conkey, con.confkey) AS k (attnum, fattnum)
               JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
               JOIN pg_attribute AS f ON f.attrelid = con.confrelid AND f.attnum = k.fattnum
               WHERE a.attname = %(column)s AND f.attname = %(column)s)
         AS pairs_column
FROM pg_constraint AS con
WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class Violation:
    """A table or constraint that would stop the schema from being distributed by org_id."""

    table: str
    name: str
    problem: str

    @property
    def key(self) -> str:
        """What the lists name: the constraint, or the table for a table-level violation."""
        return self.table if self.name == "(table)" else self.name

    def __str__(self) -> str:
        return f"{self.table}.{self.name}: {self.problem}"


def find_violations(conn: psycopg.Connection[tuple[object, ...]]) -> list[Violation]:
    """Every place the schema breaks the rules, before the exceptions are applied."""
    params = {"column": DISTRIBUTION_COLUMN}
    tables = dict(conn.execute(TABLES, params).fetchall())
    tenant = {str(name) for name, is_tenant in tables.items() if is_tenant}
    found: list[Violation] = []
    for name in sorted(set(map(str, tables)) - tenant):
        if name not in REFERENCE_TABLES:
            found.append(Violation(name, "(table)", "no org_id and not listed in REFERENCE_TABLES"))
    keys = conn.execute(KEYS, params).fetchall()
    has_primary_key = {str(table) for table, _, kind, _ in keys if kind == "primary key"}
    for table in sorted(tenant - has_primary_key):
        found.append(Violation(table, "(table)", "tenant table without a primary key"))
    for table, name, kind, has_column in keys:
        if table in tenant and not has_column:
            found.append(Violation(str(table), str(name), f"{kind} without org_id"))
    for table, name, referenced, pairs_column in conn.execute(FOREIGN_KEYS, params).fetchall():
        if table in tenant and referenced in tenant and not pairs_column:
            found.append(Violation(str(table), str(name), f"foreign key to {referenced} without org_id on both ends"))
        elif table not in tenant and referenced in tenant:
            # Citus allows distributed -> reference, never reference -> distributed.
            found.append(Violation(str(table), str(name), f"foreign key from a reference table to tenant {referenced}"))
    return found


def unexplained(violations: list[Violation]) -> list[Violation]:
    allowed = {exception.constraint for exception in EXCEPTIONS}
    return [violation for violation in violations if violation.key not in allowed]


def test_every_tenant_key_and_foreign_key_includes_org_id(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        violations = find_violations(conn)
    left = unexplained(violations)
    assert left == [], "keys without org_id (fix them, or list them with a reason):\n" + "\n".join(map(str, left))
    names = {violation.key for violation in violations}
    stale = sorted(name for name in (e.constraint for e in EXCEPTIONS) if name not in names)
    assert stale == [], f"listed but no longer a violation (take them off the lists): {stale}"


def test_every_exception_and_reference_table_says_why() -> None:
    for exception in EXCEPTIONS:
        assert len(exception.reason) > 40, exception
    assert all(len(reason) > 40 for reason in REFERENCE_TABLES.values())


@pytest.mark.parametrize(
    ("ddl", "expected"),
    [
        # A new tenant table keyed by id alone.
        (
            "CREATE TABLE notes (id uuid PRIMARY KEY, org_id uuid NOT NULL REFERENCES orgs (id))",
            Violation("notes", "notes_pkey", "primary key without org_id"),
        ),
        # A tenant table without a primary key at all.
        (
            "CREATE TABLE notes (org_id uuid NOT NULL, body text)",
            Violation("notes", "(table)", "tenant table without a primary key"),
        ),
        # A unique index that leaves org_id out.
        (
            "CREATE UNIQUE INDEX threads_name_idx ON threads (name)",
            Violation("threads", "threads_name_idx", "unique index without org_id"),
        ),
        # A child whose foreign key pairs the parent's org_id with another column than its own org_id:
        # the two rows could live in different orgs, so in different shards.
        (
            "CREATE TABLE notes (id uuid, org_id uuid NOT NULL, thread_id uuid, thread_org_id uuid, "
            "PRIMARY KEY (org_id, id), "
            "CONSTRAINT notes_thread_fkey FOREIGN KEY (thread_id, thread_org_id) REFERENCES threads (id, org_id))",
            Violation("notes", "notes_thread_fkey", "foreign key to threads without org_id on both ends"),
        ),
        # A table without org_id that nobody classified, referencing a tenant table.
        (
            "CREATE TABLE notes (id uuid PRIMARY KEY, thread_id uuid, thread_org_id uuid, "
            "FOREIGN KEY (thread_id, thread_org_id) REFERENCES threads (id, org_id))",
            Violation(
                "notes", "notes_thread_id_thread_org_id_fkey", "foreign key from a reference table to tenant threads"
            ),
        ),
    ],
)
def test_the_check_catches_a_planted_violation(database_url: str, ddl: str, expected: Violation) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(ddl)
        left = unexplained(find_violations(conn))
    assert expected in left, left
