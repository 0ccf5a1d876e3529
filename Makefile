# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast faults install worker chat lint i18n-extract i18n-update i18n-compile \
	i18n-check i18n-cost bench bench-broadcast clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install ## migrate, seed the zonas, start web + worker (embedded Redis if no REDIS_URL)
	$(BIN)/mibarrio i18n compile
	$(BIN)/mibarrio run

test: install ## the whole suite (PostgreSQL too when TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest

test-fast: install ## the suite without the tests marked slow (processes, restarts, fuzzing)
	$(BIN)/python -m pytest -m "not slow"

FAULTS_RESULTS_DIR ?= instance/faults

faults: install ## the fault suite alone (PostgreSQL too with TEST_DATABASE_URL), then its figures
	rm -rf $(FAULTS_RESULTS_DIR)
	FAULTS_RESULTS_DIR=$(FAULTS_RESULTS_DIR) $(BIN)/python -m pytest tests/faults; status=$$?; \
	$(BIN)/python -m tests.faults.figures $(FAULTS_RESULTS_DIR); exit $$status

chat: install ## talk to the bot in the terminal as +59171234567
	$(BIN)/mibarrio chat --phone +59171234567

worker: install
	$(BIN)/mibarrio worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy bot worker storage

i18n-extract: install ## bot/locales/messages.pot from the N_() calls (babel.cfg)
	$(BIN)/mibarrio i18n extract

i18n-update: install ## merge new/changed messages into es and ay (changed Spanish -> fuzzy in ay)
	$(BIN)/mibarrio i18n update

i18n-compile: install
	$(BIN)/mibarrio i18n compile

i18n-check: install ## missing/fuzzy entries, placeholders, ay plural header, the glossary
	$(BIN)/mibarrio i18n check

i18n-cost: install ## regenerate docs/sms-cost.md
	$(BIN)/mibarrio i18n cost --write docs/sms-cost.md

bench: install ## webhook latency at 300 texts/s, throughput against bare Flask (docs/benchmarks.md)
	$(BIN)/python bench/webhook.py

bench-broadcast: install ## 100,000 residents through the broadcast engine (see README)
	$(BIN)/python bench/broadcast.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
