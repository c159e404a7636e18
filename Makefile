# Two commands: `make run` builds a demo warehouse; `make test` checks everything.
# Every target installs what it needs first, so both work on a fresh clone.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock

# Demo data set: size and seed of the synthetic sources `make run` builds.
DEMO_CUSTOMERS ?= 5000
DEMO_DAYS ?= 120
DEMO_SEED ?= 42
LANDING_DIR ?= data/landing
export SEGMENTS_DUCKDB_PATH ?= data/warehouse.duckdb

# The test suite builds its own warehouse from a fixed seed and window, so results
# do not depend on today's date or on the demo warehouse.
TEST_CUSTOMERS ?= 1500
TEST_DAYS ?= 150
TEST_SEED ?= 7
TEST_END_DATE ?= 2026-06-30
TEST_LANDING_DIR := data/test/landing
TEST_DATABASE := data/test/warehouse.duckdb

export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install lock demo-data load build docs freshness real-data bench \
        test-build test-python lint quality structure registry clean export report browser train

run: install demo-data load build ## Build the demo warehouse end to end

install: $(STAMP) ## Create the virtualenv with the pinned dependencies

$(STAMP): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $(STAMP)

lock: ## Re-resolve requirements.in into requirements.lock
	$(PYTHON) -m venv /tmp/segments-lock-venv
	/tmp/segments-lock-venv/bin/python -m pip install --quiet --upgrade pip
	/tmp/segments-lock-venv/bin/python -m pip install --quiet -r requirements.in
	/tmp/segments-lock-venv/bin/python -m pip freeze --exclude-editable | sort > requirements.lock

demo-data: install ## Generate the synthetic landing files (skipped when present)
	@if [ -d $(LANDING_DIR) ]; then echo "Landing files already in $(LANDING_DIR) (delete it to regenerate)"; \
	else $(BIN)/python scripts/generate_sources.py --customers $(DEMO_CUSTOMERS) --days $(DEMO_DAYS) \
		--seed $(DEMO_SEED) --out $(LANDING_DIR); fi

load: install ## Load new landing files into the raw schema (exactly once)
	$(BIN)/python scripts/load_sources.py --landing $(LANDING_DIR) --database $(SEGMENTS_DUCKDB_PATH)

# Scheduled builds run models, snapshots and data tests; unit tests check logic, not data,
# and run in `make test`. scripts/scheduled_build.py skips the build when the loader's
# ledger, as_of, vars, code and dbt version are those of the last build and it succeeded.
# A build that passes publishes the marts to the serving database analysts read
# ($SEGMENTS_SERVING_PATH, default data/serving.duckdb; docs/serving.md).
FORCE ?=
build: install registry ## dbt build: seeds, models, snapshots and data tests (skipped when nothing changed; FORCE=1 builds anyway)
	@mkdir -p data/duckdb_tmp
	$(BIN)/python scripts/scheduled_build.py $(if $(filter 1,$(FORCE)),--force)

# Exports the audiences that are due to their destinations, from the serving and
# restricted files only (scripts/export_audiences.py, docs/activation.md#exports).
# DRY_RUN=1 prints what would be sent and writes nothing; ARGS passes the other options,
# e.g. ARGS='--audience vip_email --full' (`make export --dry-run` would be make's own -n).
DRY_RUN ?=
ARGS ?=
export: install ## Export due audiences as change feeds (DRY_RUN=1 writes nothing; ARGS='--audience KEY --full ...')
	$(BIN)/python scripts/export_audiences.py $(if $(filter 1,$(DRY_RUN)),--dry-run) $(ARGS)

# The measurement report: one static HTML file (no network at view time) from the serving
# database only, read-only (scripts/report.py, docs/measurement.md#the-report).
# SERVING=FILE reads another serving file; REPORT=FILE writes elsewhere.
SERVING ?=
REPORT ?= data/report/index.html
report: install ## Write the offline HTML report (data/report/index.html) from the serving database
	$(BIN)/python scripts/report.py --output $(REPORT) $(if $(SERVING),--serving $(SERVING))

# Headless Chromium for the report's browser test: Debian's package, never a browser
# Playwright would download (it cannot be fetched here, and CI runs as root on Debian).
CHROMIUM := /usr/bin/chromium
browser: ## Install Debian's chromium for the report test when it is missing (needs root and apt-get)
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium (the report test opens the report in it)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "$(CHROMIUM) is missing: the report test needs Debian's chromium. Install it as root:" >&2; \
		echo "  apt-get update && apt-get install -y chromium" >&2; exit 1; \
	fi
	@test -x $(CHROMIUM) || { echo "chromium did not install at $(CHROMIUM)" >&2; exit 1; }

# Trains the churn and purchase-propensity classifiers on the point-in-time tables of the
# last build, promotes a model only if it beats the recency baseline and the promoted one,
# scores every customer and fits the lifetime-value model (docs/models.md). Results go to
# the warehouse's `ml` schema; fitted models are kept in ml_models/ beside the warehouse.
train: install ## Train, evaluate, promote and score the machine-learned models (after a build)
	$(BIN)/python scripts/ml_train.py --database $(SEGMENTS_DUCKDB_PATH)

freshness: install ## Report source freshness against each source's SLA
	$(BIN)/dbt source freshness

docs: install ## Generate dbt docs into target/
	$(BIN)/dbt docs generate

# The real orders end in 2011: the build's as_of is the day after the last invoice, which
# the importer writes to $(REAL_DATA_DIR)/as_of, so recency is measured from the data's end.
REAL_DATA_DIR ?= data/online_retail
real-data: install registry ## Build a warehouse of the real UCI Online Retail orders (see docs/operations.md)
	@mkdir -p data/duckdb_tmp
	$(BIN)/python scripts/import_online_retail.py --out $(REAL_DATA_DIR)/landing --as-of-file $(REAL_DATA_DIR)/as_of
	$(BIN)/python scripts/load_sources.py --landing $(REAL_DATA_DIR)/landing --database $(REAL_DATA_DIR)/warehouse.duckdb
	SEGMENTS_DUCKDB_PATH=$(REAL_DATA_DIR)/warehouse.duckdb SEGMENTS_AS_OF="$$(cat $(REAL_DATA_DIR)/as_of)" \
		$(BIN)/python scripts/scheduled_build.py

registry: install ## Validate the segment, audience and experiment registries before anything is computed
	$(BIN)/python scripts/segment_registry.py validate
	$(BIN)/python scripts/audience_registry.py validate
	$(BIN)/python scripts/experiment_registry.py validate

test: install registry structure test-build quality test-python lint ## Everything that checks the project

test-build: install registry ## Fresh test warehouse from fixed data, then dbt build (all data and unit tests)
	rm -rf data/test
	@mkdir -p data/test data/duckdb_tmp
	$(BIN)/python scripts/generate_sources.py --customers $(TEST_CUSTOMERS) --days $(TEST_DAYS) \
		--seed $(TEST_SEED) --end-date $(TEST_END_DATE) --out $(TEST_LANDING_DIR)
	$(BIN)/python scripts/load_sources.py --landing $(TEST_LANDING_DIR) --database $(TEST_DATABASE)
	$(BIN)/python scripts/erasure.py --database $(TEST_DATABASE)
	SEGMENTS_DUCKDB_PATH=$(TEST_DATABASE) $(BIN)/dbt build --exclude-resource-type unit_test --vars '{as_of: "$(TEST_END_DATE)", raw_rows_accounting_full: true}'
	SEGMENTS_DUCKDB_PATH=$(TEST_DATABASE) $(BIN)/dbt test --select "test_type:unit" --vars '{as_of: "$(TEST_END_DATE)", raw_rows_accounting_full: true}'

lint: install ## sqlfluff over models, tests and analyses (dbt templater, throwaway warehouse)
	@mkdir -p data/lint
	SEGMENTS_DUCKDB_PATH=$(CURDIR)/data/lint/segments_sqlfluff.duckdb DBT_TARGET_PATH=target_sqlfluff DBT_LOG_PATH=logs_sqlfluff \
		$(BIN)/sqlfluff lint models tests analyses --processes 2

structure: install ## dbt-project-evaluator rules over the manifest; exceptions in structure_exceptions.yml
	@mkdir -p data/structure
	SEGMENTS_DUCKDB_PATH=$(CURDIR)/data/structure/segments_structure.duckdb DBT_TARGET_PATH=target_structure DBT_LOG_PATH=logs_structure \
		$(BIN)/dbt parse --quiet
	DBT_TARGET_PATH=target_structure $(BIN)/python scripts/check_project_structure.py

QUALITY_DATABASE ?= $(TEST_DATABASE)
quality: install ## Great Expectations gates on a built warehouse (the test one by default); Data Docs in target/data_docs/
	$(BIN)/python scripts/run_quality_gates.py --database $(QUALITY_DATABASE)

test-python: install browser ## pytest: generator, loader, importer, registry, incremental, gate and report tests
	$(BIN)/python -m pytest tests/python

BENCH_CUSTOMERS ?= 100000
bench: install ## Benchmark against the bare-DuckDB baseline (BENCH_CUSTOMERS=100000); see BENCHMARKS.md
	$(BIN)/python scripts/benchmark.py --customers $(BENCH_CUSTOMERS) --days 365 --output data/bench/report.md

clean: ## Remove built artefacts (keeps the virtualenv)
	rm -rf target logs data
