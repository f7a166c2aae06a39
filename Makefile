# Every target bootstraps what it needs from nothing; stamps make the second run a no-op.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(CURDIR)/$(VENV)/bin
NODE_BIN := $(CURDIR)/node_modules/.bin
# jsii runs the first `node` on PATH: the pinned Node 22 from package.json, not the machine's 20.
export PATH := $(NODE_BIN):$(BIN):$(PATH)
ENV ?= dev
# app.py bundles the Lambda asset from this wheelhouse when it exists, so synth needs no
# network and no variables (docs/decision_log.md, "Local bundling").
WHEELHOUSE := .build/wheelhouse
# checkov has its own venv: its pins (boto3, packaging) clash with the dev venv's.
CHECKOV_VENV := .build/checkov

.PHONY: help setup synth synth-all test lint typecheck unit local bench diff deploy destroy clean snapshot-update test-web

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(VENV)/.stamp: requirements.txt requirements-dev.txt cache_constructs/runtime/requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The library's own recipe (cache_constructs/bundling.py): a wheel of every pinned requirement
# for Lambda, pure-Python sdists (amazon-dax-client) built on the way. app.py bundles from it.
$(WHEELHOUSE)/.stamp: cache_constructs/runtime/requirements.txt $(VENV)/.stamp node_modules/.stamp
	rm -rf $(WHEELHOUSE)
	$(PY) -m cache_constructs.bundling wheelhouse \
	  --requirements cache_constructs/runtime/requirements.txt --dest $(WHEELHOUSE)
	touch $@

$(CHECKOV_VENV)/.stamp: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

/usr/bin/redis-server:
	command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# The storefront's browser tests drive Debian's Chromium through its chromedriver (no download).
/usr/bin/chromium /usr/bin/chromedriver:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

setup: $(VENV)/.stamp node_modules/.stamp $(WHEELHOUSE)/.stamp $(CHECKOV_VENV)/.stamp ## install everything (idempotent)

synth: setup ## synthesize the stack (ENV=dev|prod), run cdk-nag and cfn-lint
	cdk synth --quiet -c env=$(ENV)
	cfn-lint --non-zero-exit-code warning -- cdk.out/*.template.json
	@echo "synth ok: cdk.out/ (env=$(ENV)), cdk-nag clean, cfn-lint clean"

synth-all: ## synthesize dev and prod
	$(MAKE) synth ENV=dev
	$(MAKE) synth ENV=prod

lint: $(VENV)/.stamp ## ruff
	ruff check .
	ruff format --check .

typecheck: $(VENV)/.stamp ## mypy
	mypy cache_constructs stacks app.py local_stack

test: setup /usr/bin/redis-server /usr/bin/chromium /usr/bin/chromedriver lint typecheck test-web ## lint, type-check and the whole test suite
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$(CURDIR)/$(WHEELHOUSE) pytest -q $(PYTEST_ARGS)

test-web: node_modules/.stamp ## the browser cache client's unit tests (node --test, the pinned Node 22)
	$(NODE_BIN)/node --test 'web/test/*.test.js'

snapshot-update: setup /usr/bin/redis-server ## rewrite the stack snapshots after an intended change
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$(CURDIR)/$(WHEELHOUSE) pytest -q tests/snapshots --snapshot-update

# No wheelhouse needed: the handlers run from the checkout in worker processes (docs/local.md).
local: $(VENV)/.stamp node_modules/.stamp /usr/bin/redis-server ## run the product API on localhost (PORT=8080, SEED=N)
	$(PY) -m local_stack $(if $(SEED),--seed $(SEED),)

bench: setup /usr/bin/redis-server ## benchmarks vs naive and dogpile.cache (BENCH_QUICK=1 for a short run)
	$(PY) -m bench

diff: setup ## cdk diff against the deployed stack (needs AWS credentials)
	cdk diff -c env=$(ENV)

deploy: setup ## deploy ENV (needs AWS credentials)
	cdk deploy -c env=$(ENV)

destroy: setup ## destroy ENV (needs AWS credentials)
	cdk destroy -c env=$(ENV)

clean: ## remove build outputs (keeps the venv and node_modules)
	rm -rf cdk.out .build dist build *.egg-info .local .pytest_cache .mypy_cache .ruff_cache
