# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Migrate the embedded SQLite database (or CRISIS_DATABASE_URL), create a demo admin, serve.
run: $(STAMP)
	$(BIN)/crisis serve

## The whole suite: SQLite always, PostgreSQL too when CRISIS_TEST_POSTGRES_URL is set.
## One pytest process per core (at most 4), a test module kept on one of them: much of the
## suite waits on browsers, servers and worker processes, so two cores run it in about 6 min.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --maxprocesses=4 --dist loadscope

## Extract messages and update the Chinese catalogue (then fill it, see console/translate.py).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o $(VENV)/messages.pot .
	$(BIN)/pybabel update -i $(VENV)/messages.pot -d console/translations -l zh_Hans_CN --no-fuzzy-matching
	$(BIN)/python -m console.translate

clean:
	rm -rf $(VENV) .pytest_cache
