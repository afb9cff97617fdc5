# Bastion — run `make help` for targets. Only Python >= 3.11 and make are needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# dependency audit tools, in their own virtualenv so that they never enter requirements.lock
AUDIT_VENV  ?= build/audit-venv
AUDIT_TOOLS := pip-audit==2.10.1 cyclonedx-bom==7.5.0

.DEFAULT_GOAL := help
.PHONY: help install run test test-unit test-int test-e2e check lint fmt type migrate deadletters lock bench bench-gateway audit clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) ## Create .venv with the locked dependencies

run: $(STAMP) ## Start the whole stack (NATS, Postgres, every service) on embedded defaults
	$(BIN)/python -m libs.stack run

test: $(STAMP) ## Run every test: unit, handler, integration and end-to-end
	$(BIN)/python -m pytest -q

test-unit: $(STAMP) ## Unit, contract and in-memory handler tests only
	$(BIN)/python -m pytest -q -m "not integration and not e2e"

test-int: $(STAMP) ## Integration tests (real nats-server and PostgreSQL)
	$(BIN)/python -m pytest -q -m integration

test-e2e: $(STAMP) ## End-to-end tests (whole stack as processes)
	$(BIN)/python -m pytest -q -m e2e

lint: $(STAMP) ## ruff check + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP) ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

type: $(STAMP) ## mypy --strict
	$(BIN)/mypy libs services

check: lint type test-unit ## Lint, types and unit tests

migrate: $(STAMP) ## Apply SQL migrations to $$BASTION_DB_DSN
	$(BIN)/python -m libs.db.migrate

deadletters: $(STAMP) ## List events the consumers could not store (replay: python -m libs.stack deadletters replay ID)
	$(BIN)/python -m libs.stack deadletters list

bench: $(STAMP) ## Run the benchmarks in bench/
	$(BIN)/python bench/guardrails_bench.py

lock: ## Re-lock dependencies from the current .venv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean: ## Remove the virtualenv and caches (not var/)
	rm -rf $(VENV) .mypy_cache .ruff_cache build *.egg-info

bench-gateway: $(STAMP) ## Gateway vs direct call in one run (starts its own mock upstream and stack; needs wrk)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk); } || { echo "install wrk (apt-get install wrk)"; exit 1; }
	$(BIN)/python bench/gateway_bench.py $(BENCH_ARGS)

$(AUDIT_VENV)/.installed: Makefile
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install -q $(AUDIT_TOOLS)
	@touch $@

audit: $(AUDIT_VENV)/.installed ## CycloneDX SBOM of requirements.lock (build/sbom.cdx.json), then pip-audit over it (needs the vulnerability DB)
	@mkdir -p build
	$(AUDIT_VENV)/bin/cyclonedx-py requirements requirements.lock --pyproject pyproject.toml --of JSON --output-reproducible -o build/sbom.cdx.json
	@echo "SBOM: build/sbom.cdx.json ($$(grep -c '"bom-ref"' build/sbom.cdx.json) components)"
	$(AUDIT_VENV)/bin/pip-audit -r requirements.lock --no-deps --disable-pip --strict --progress-spinner off $(AUDIT_ARGS)
