# `make demo` runs Zelo on the embedded default (SQLite, no Redis); `make test` runs lint, types and tests.
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTHON ?= python3
# The Correios portal filer (and its tests) drive the system Chromium: Debian's, never a Playwright download.
CHROMIUM := /usr/bin/chromium
SUDO  := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: demo test lint bench services wrk chromium clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	$(BIN)/zelo demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) services chromium lint
	$(BIN)/pytest

bench: $(STAMP) services wrk
	$(BIN)/python -m bench.poll
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.push
	$(BIN)/python -m bench.sweep
	$(BIN)/python -m bench.notify
	$(BIN)/python -m bench.scorecards

wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)

chromium:
	@test -x $(CHROMIUM) || ($(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

services:
	@bash .ci/services

clean:
	rm -rf $(VENV) zelo-demo.db* zelo-demo-mail zelo-uploads .pytest_cache .mypy_cache .ruff_cache
