# The two commands of the README: `make run` and `make test`.
# Both (re)install into .venv when it is missing or pyproject.toml is newer.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: install peers run lint test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/slawatch run --demo

peers:
	bash scripts/install-peers.sh

# the rules that hold only if checked: style (ruff), the layers (.importlinter), no dead code
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/vulture app probes --min-confidence 80

test: install peers lint
	$(VENV)/bin/slawatch rules check
	$(VENV)/bin/python -m pytest

bench: install peers
	$(VENV)/bin/python benchmarks/evaluate.py
	$(VENV)/bin/python benchmarks/probes.py --loop uvloop
	$(VENV)/bin/python benchmarks/scheduler.py
	$(VENV)/bin/python benchmarks/faults.py
	$(VENV)/bin/python benchmarks/hostile.py
	$(VENV)/bin/python benchmarks/metrics.py
	$(VENV)/bin/python benchmarks/whole.py --history-hours 0,24
	$(VENV)/bin/python benchmarks/portal.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
