# AgentPress data service. `make help` lists the targets; they read the same configuration as the
# service (environment variables and .env): with DATABASE_URL unset they use the embedded server.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The bench extra has a stamp of its own, so that make test and make check never install it.
BENCH_INSTALLED := $(VENV)/.installed-bench
AGENTPRESS := $(BIN)/agentpress

.DEFAULT_GOAL := help
.PHONY: help install run stop check test lint format db-start db-stop db-status db-url db-migrate db-rollback db-new db-reset db-shell redis-start redis-stop redis-status schema sql-catalog sql-registry bench bench-quick clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,local]'
	touch $@

install: $(INSTALLED) ## create .venv and install the service, its local Redis and its dev tools (done by the other targets when needed)

$(BENCH_INSTALLED): $(INSTALLED) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

# Development: one process (WEB_CONCURRENCY=1, one log to read); mail without SMTP_URL is logged with its links, so
# that you can verify an email or reset a password.
run: $(INSTALLED) ## start the embedded PostgreSQL and the local Redis (unless DATABASE_URL / REDIS_URL say otherwise), migrate, serve on http://127.0.0.1:8000
	AUTO_MIGRATE=1 MAIL_LOG_LINKS=$${MAIL_LOG_LINKS:-true} WEB_CONCURRENCY=$${WEB_CONCURRENCY:-1} \
		METRICS_TOKEN=$${METRICS_TOKEN:-local-metrics-token} $(AGENTPRESS) serve

# The database is stopped even when the local Redis is not in use (REDIS_URL set or off).
stop: $(INSTALLED) ## stop what make run left running: the embedded PostgreSQL and the local Redis
	-$(AGENTPRESS) redis stop
	$(AGENTPRESS) db stop

check: lint test ## what CI runs: lint, then the test suite

# One worker per core (pytest-xdist); a module's tests stay on one worker (tests/conftest.py says why).
test: $(INSTALLED) ## the test suite against real PostgreSQL and Redis (embedded and throwaway unless configured)
	$(BIN)/pytest -n auto --dist loadgroup

lint: $(INSTALLED) ## ruff (lint and format check), mypy --strict on src/, squawk on migrations/
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/squawk migrations/*.sql

format: $(INSTALLED) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

db-start: $(INSTALLED) ## start the embedded PostgreSQL (data in .data/postgres) and print its URL
	$(AGENTPRESS) db start

db-stop: $(INSTALLED) ## stop the embedded PostgreSQL
	$(AGENTPRESS) db stop

redis-start: $(INSTALLED) ## start the local Redis (on a Unix socket in .data/redis) and print its URL
	$(AGENTPRESS) redis start

redis-stop: $(INSTALLED) ## stop the local Redis
	$(AGENTPRESS) redis stop

redis-status: $(INSTALLED) ## whether the local Redis is running, and its URL
	$(AGENTPRESS) redis status

db-url: $(INSTALLED) ## print the database URL in use
	@$(AGENTPRESS) db url

db-status: $(INSTALLED) ## list the migrations, applied or pending
	$(AGENTPRESS) migrate status

db-migrate: $(INSTALLED) ## apply every pending migration
	$(AGENTPRESS) migrate apply

db-rollback: $(INSTALLED) ## roll back the last applied migration
	$(AGENTPRESS) migrate rollback

db-new: $(INSTALLED) ## write a migration pair from the template: make db-new name=add-threads
	@test -n "$(name)" || { echo "usage: make db-new name=add-threads" >&2; exit 2; }
	$(AGENTPRESS) migrate new $(name)

db-reset: $(INSTALLED) ## roll back every migration and apply them again (drops all data): make db-reset FORCE=1
	$(AGENTPRESS) migrate reset $(if $(filter 1,$(FORCE)),--force,)

db-shell: $(INSTALLED) ## psql into the database
	$(AGENTPRESS) db shell

schema: $(INSTALLED) ## write sql/schema.sql from the migrations, applied to a scratch database on the server in use
	$(AGENTPRESS) db schema

sql-catalog: $(INSTALLED) ## write docs/queries.md: every named query with its parameters, columns, tables, contract
	$(AGENTPRESS) db catalog

sql-registry: $(INSTALLED) ## write src/agentpress/db/registry.py: the named queries typed, for mypy and editors
	$(BIN)/python -m agentpress.db.registry_writer

bench: $(BENCH_INSTALLED) ## the benchmarks on a fresh embedded server (under 20 min): tables, bench/results/latest.{json,md}
	$(BIN)/python -m bench.run

bench-quick: $(BENCH_INSTALLED) ## the benchmarks on small data (under 3 min): tables, bench/results/quick.{json,md}
	$(BIN)/python -m bench.run --quick

clean: ## remove .venv and caches (the database in .data is kept)
	rm -rf $(VENV) .mypy_cache .ruff_cache
