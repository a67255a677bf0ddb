# One command to run the bot, one to run the tests; both set up .venv first.
PY ?= python3
VENV ?= .venv
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,bench]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/supportbot run

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# The whole suite on SQLite, then the storage-backed tests again on PostgreSQL.
test: $(VENV)/.installed lint
	$(VENV)/bin/pytest -q
	SUPPORTBOT_TEST_DATABASE=$(PG_URL) $(VENV)/bin/pytest -q -m db

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/sla_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
