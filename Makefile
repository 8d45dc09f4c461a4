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

.PHONY: run test lint format bench venv smoke-embedded

$(STAMP): requirements/base.txt requirements/dev.txt requirements/constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	touch $(STAMP)

venv: $(STAMP)

## Pulse with web (:$(PORT)), Celery worker and beat; Ctrl-C stops everything.
run: $(STAMP)
	$(DEVSTACK) sh -c '$(PY) manage.py bootstrap && exec $(VENV)/bin/honcho -f Procfile start web worker ingest beat'

## The whole test suite on a throwaway database.
test: $(STAMP)
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
