# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
LIBFAKETIME := $(firstword $(wildcard /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast test-shifted install translations clean

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

## The inner loop (~1000 tests, about 2 min on two idle cores): unit and integration tests on
## SQLite only, without browsers, the fault suite, the fuzzers or the tests marked slow.
test-fast: $(STAMP)
	CRISIS_TEST_POSTGRES_URL= CI= $(BIN)/python -m pytest -n auto --maxprocesses=4 --dist loadscope \
	  -m "not slow and not postgres" --ignore=tests/browser --ignore=tests/drills --ignore=tests/faults --ignore=tests/fuzz

## The suite without browsers (nor the drills, which drive one) with the wall clock a year ahead (libfaketime): no test may
## depend on today's date. Left out: the fault suite, which moves its worker's clock with
## libfaketime itself (an outer FAKETIME would override it), and the live Alertmanager test:
## Alertmanager (Go) keeps the real clock and refuses alerts starting a year after its now.
## See tests/support/shifted_clock.
test-shifted: $(STAMP)
	@test -n "$(LIBFAKETIME)" || { echo "libfaketime is missing: apt-get install faketime" >&2; exit 1; }
	PYTHONPATH=tests/support/shifted_clock FAKETIME=+365d FAKETIME_DONT_FAKE_MONOTONIC=1 \
	  LD_PRELOAD=$(LIBFAKETIME) $(BIN)/python -m pytest -n auto --maxprocesses=4 --dist loadscope \
	  --ignore=tests/browser --ignore=tests/drills --ignore=tests/faults --ignore=tests/test_alertmanager_live.py

## Extract messages and update the Chinese catalogue (then fill it, see console/translate.py).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o $(VENV)/messages.pot .
	$(BIN)/pybabel update -i $(VENV)/messages.pot -d console/translations -l zh_Hans_CN --no-fuzzy-matching
	$(BIN)/python -m console.translate

clean:
	rm -rf $(VENV) .pytest_cache
