# geoplan — the two commands: `make run` and `make test`.
# Both work from a clean clone: they install what is missing (Debian packages when run as root,
# otherwise they print the exact apt-get command), create .venv, and go.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PG_VERSION ?= 15
PG_EXT_DIR := /usr/share/postgresql/$(PG_VERSION)/extension
APT_RUN  := postgresql-$(PG_VERSION) postgresql-$(PG_VERSION)-postgis-3 postgresql-$(PG_VERSION)-pgrouting
APT_TEST := $(APT_RUN) gdal-bin chromium
APT_BENCH := $(APT_TEST) wrk
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-dev

.PHONY: run test lint format bench sysdeps-run sysdeps-test sysdeps-bench clean help

help:
	@echo "make run    install what is missing, start PostGIS, load layers, serve http://127.0.0.1:8000"
	@echo "make test   install what is missing and run the test suite against a real PostGIS"
	@echo "make lint   ruff and the import-linter layer contract"
	@echo "make bench  run the benchmarks in bench/"

run: sysdeps-run $(STAMP_RUN)
	$(BIN)/geoplan db up
	$(BIN)/geoplan load
	$(BIN)/geoplan serve

test: sysdeps-test $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP_TEST)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: sysdeps-bench $(STAMP_TEST)
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench

# --- system packages ---------------------------------------------------------------------------
sysdeps-run:
	@PKGS="$(APT_RUN)" NEED="$(PG_EXT_DIR)/postgis.control $(PG_EXT_DIR)/pgrouting.control" sh scripts/sysdeps.sh

sysdeps-test:
	@PKGS="$(APT_TEST)" NEED="$(PG_EXT_DIR)/postgis.control $(PG_EXT_DIR)/pgrouting.control /usr/bin/ogrinfo /usr/bin/chromium" sh scripts/sysdeps.sh

sysdeps-bench:
	@PKGS="$(APT_BENCH)" NEED="$(PG_EXT_DIR)/postgis.control /usr/bin/wrk" sh scripts/sysdeps.sh

# --- python environment ------------------------------------------------------------------------
$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); \
	  else echo "error: python3-venv is missing; run: sudo apt-get install -y python3-venv" >&2; exit 1; fi; }
	$(BIN)/pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(STAMP_RUN)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
