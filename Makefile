# Signon: `make run` serves the app with the demo letter; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app signon
CI_SCRIPTS := .ci/dependency_audit.py wsgi.py gunicorn.conf.py deploy
HOST ?= 127.0.0.1
PORT ?= 5000
# The PostgreSQL run (see README): override to point at another server.
SIGNON_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install install-runtime run run-prod test test-postgres lint format browser system-deps audit smoke load clean help

help:
	@echo "make run            install the runtime requirements, migrate, load the demo letter, serve on http://$(HOST):$(PORT)"
	@echo "make run-prod       production mode here: PostgreSQL (database signon), Redis, gunicorn, queue worker, scheduler"
	@echo "make test           install and run the whole test suite (SQLite)"
	@echo "make test-postgres  the same suite against PostgreSQL ($(SIGNON_TEST_POSTGRES_URL))"
	@echo "make lint           ruff (lint and format check) and mypy"
	@echo "make audit          known vulnerabilities in the pinned dependencies (pip-audit or PyPI data)"
	@echo "make smoke          requirements.txt alone in a new virtualenv: migrate, demo, PDF, one page"
	@echo "make load           load test of public sign-on (gunicorn, local PostgreSQL and Redis; LOAD_ARGS=--help)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# What `make run` needs: the runtime requirements alone (no test tools, no browser, no root).
$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install-runtime: $(VENV)/.runtime-installed

# System packages from Debian: Chromium for the real-browser tests (Playwright drives it
# through executable_path) and the fonts the PDF export embeds (every script a name may use).
# Only `make test` needs them: without the fonts the PDF falls back to static/fonts/dejavu.
SYSTEM_PACKAGES := chromium fontconfig fonts-noto-core fonts-noto-cjk fonts-dejavu-core poppler-utils
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing with apt:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

browser: system-deps

# A development server: SIGNON_ENV=development, and mailed links point at the address it
# serves (SIGNON_BASE_URL); set either in the environment to override.
run: export SIGNON_ENV ?= development
run: export SIGNON_BASE_URL ?= http://$(HOST):$(PORT)
run: install-runtime
	@mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@echo ""
	@echo "  Signon is starting on http://$(HOST):$(PORT)"
	@$(FLASK) demo-login
	@echo ""
	$(FLASK) run --host $(HOST) --port $(PORT)

# Production mode on this machine (deploy/run_prod.py): PostgreSQL (SIGNON_DATABASE_URL,
# default the database `signon` on 127.0.0.1, created if missing), Redis, `flask db upgrade`
# once, the demo if empty, then gunicorn (gunicorn.conf.py), the queue worker and the
# scheduler in the foreground; Ctrl-C stops them all. Serves on http://$(HOST):8000.
run-prod: install-runtime
	HOST=$(HOST) $(BIN)/python deploy/run_prod.py

test: install browser
	$(BIN)/pytest

test-postgres: install browser
	SIGNON_TEST_DATABASE_URL=$(SIGNON_TEST_POSTGRES_URL) $(BIN)/pytest

lint: install
	$(BIN)/ruff check signon tests benchmarks migrations/env.py $(CI_SCRIPTS)
	$(BIN)/ruff format --check signon tests benchmarks $(CI_SCRIPTS)
	$(BIN)/mypy signon tests benchmarks $(CI_SCRIPTS)

format: install
	$(BIN)/ruff check --fix signon tests benchmarks $(CI_SCRIPTS)
	$(BIN)/ruff format signon tests benchmarks $(CI_SCRIPTS)

# Known vulnerabilities in everything the requirement files resolve to (pinned and transitive).
# pip-audit --strict where PyPI's per-release data or OSV is reachable; elsewhere PyPI's
# per-project documents, which cover each package pinned at its newest release and name the
# others (see .ci/dependency_audit.py). AUDIT_FLAGS=--strict also fails on those.
AUDIT_FLAGS ?=
audit: install
	$(BIN)/python .ci/dependency_audit.py requirements.txt requirements-dev.txt $(AUDIT_FLAGS)

# The production install works (.ci/runtime_smoke.sh): requirements.txt alone, a new
# virtualenv in a temporary folder, db upgrade, seed-demo, export-pdf, one page served.
smoke:
	.ci/runtime_smoke.sh

# The load test of public sign-on (benchmarks/load/run.py, benchmarks/README.md): a scratch
# PostgreSQL database, gunicorn, Redis DB 8, locust headless; about two minutes.
LOAD_ARGS ?=
load:
	$(BIN)/python -m benchmarks.load.run $(LOAD_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
