# minicrm: `make run` starts the app with demo data; `make test` runs the whole suite.
# Both use an embedded PostgreSQL unless DATABASE_URL points at a server of your own.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint fmt migrations-check bench clean-data

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m config.localdb run

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Models and migrations agree (also asserted by tests/test_migrations.py against a real database).
migrations-check: install
	$(BIN)/python -m pytest tests/test_migrations.py -q

bench: install
	@echo "Benchmarks (each makes its own scratch database; figures in docs/benchmarks.md):"
	@echo "  $(BIN)/python scripts/bench_pages.py --contacts 20000   # pages over HTTP (1M by default)"
	@echo "  $(BIN)/python scripts/bench_load.py --contacts 20000    # 50 users for 60 s (first: $(BIN)/pip install -e '.[bench]')"
	@echo "  $(BIN)/python scripts/bench_search.py                   # global search"
	@echo "  $(BIN)/python scripts/bench_list_search.py --contacts 20000  # list search, type-ahead"
	@echo "  $(BIN)/python scripts/bench_calls.py --database-url URL  # Python calls per page (a seed_scale database)"
	@echo "  $(BIN)/python scripts/bench_audit.py                    # audit trigger cost"

# Stops the embedded PostgreSQL and deletes its data (demo data comes back on the next `make run`).
clean-data:
	-$(BIN)/python -m config.localdb stop
	rm -rf .data/postgres
