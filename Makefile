# Two commands on a fresh Debian machine with Python 3.11+: `make run` and `make test`; each sets
# up .venv with what it needs, and no more.
PY ?= python3
VENV ?= .venv
# empty: the PostgreSQL tests run on a private cluster made for the run (tests/pg_cluster.py);
# a URL (e.g. postgresql://postgres@127.0.0.1:5432/test) runs them on that server instead
PG_URL ?=
export PY PG_URL

.PHONY: run test peers lint bench clean

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

# one stamp per set of extras: `make run` installs the runtime dependencies only
$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[bench]'
	touch $@

run: $(VENV)/.installed-run
	$(VENV)/bin/supportbot run

# the Debian packages the tests need (installed when root, else named in one line)
peers:
	bash tests/peers.sh

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

# The whole suite on SQLite, then the storage-backed tests again on PostgreSQL. The peers come
# first: without python3-venv there is no .venv to install into.
test: peers
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest -q
	$(PY) tests/pg_cluster.py $(VENV)/bin/pytest -q -m db

bench: $(VENV)/.installed-bench
	$(VENV)/bin/python bench/sla_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
