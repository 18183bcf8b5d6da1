# Everything installs itself: a fresh machine needs only Python 3.11, make and git.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint demo bench soak crash-test crash-test-async mutate diagrams clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check fsm_executor tests benchmarks examples mutation
	$(BIN)/mypy --strict fsm_executor mutation

test: lint
	$(BIN)/pytest

# The main job on the embedded paper venue (binance-like), faults on, then an audit of its
# journal. Exit status 3 is expected here: creates whose answer the faults lost and that
# never reached the venue are presumed absent, not re-sent (Binance makes no re-send safe).
demo: install
	rm -f out/demo.db out/demo.db-wal out/demo.db-shm
	mkdir -p out
	$(BIN)/fsm-executor run examples/signals.csv --journal out/demo.db --faults --seed 7 \
		|| [ $$? -eq 3 ]
	$(BIN)/fsm-executor audit out/demo.db

bench: install
	$(BIN)/python benchmarks/bench_journal.py
	$(BIN)/python benchmarks/bench_group_commit.py
	$(BIN)/python benchmarks/bench_replay.py
	$(BIN)/python benchmarks/bench_orders.py
	$(BIN)/python benchmarks/bench_executor.py
	$(BIN)/python benchmarks/bench_recovery.py
	$(BIN)/python benchmarks/bench_async.py
	$(BIN)/python benchmarks/bench_history.py

# A longer hypothesis run than CI's default profile.
soak: install
	HYPOTHESIS_PROFILE=soak $(BIN)/pytest

# SIGKILL at 1,000 seeded moments, restart, recover, compare with the venue's ground truth.
crash-test: install
	$(BIN)/python tests/crash_harness.py 1000

# The same with the asyncio executor (run --async): 50 signals at once per episode, killed
# with many orders in flight; the run to the end by either executor.
crash-test-async: install
	$(BIN)/python tests/crash_harness.py 300 --async

# Mutation testing of the core (mutation/run.py): mutmut over the modules, then the table
# mutation check; tens of minutes on 2 cores, so not part of `make test`.
# MODULES="fsm_executor/core/_machine.py ..." restricts it to those modules; AGAIN=1 keeps
# the last run's killed mutants and tests the others again (a run cut short goes on).
mutate: install
	$(BIN)/python -m mutation.run $(if $(AGAIN),--again) $(MODULES)

diagrams: install
	$(BIN)/fsm-executor diagram --out diagrams

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis mutants
