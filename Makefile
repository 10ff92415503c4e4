# Two commands a new user needs: `make demo` and `make test`. Both set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench bench-smoke wheel-check
setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -U pip
	# torch first and alone: anything that lets pip choose torch pulls a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	# The package with its test and benchmark tools, at the exact versions of the lock file.
	$(PIP) install -q -c requirements.lock -e . --group dev
	touch $(STAMP)

demo: setup
	$(VENV)/bin/sciloom run recipes/demo.yaml

test: setup
	# pytest exits 5 when it collects nothing; that is not a failure of the suite.
	$(VENV)/bin/python -m pytest -q tests --durations=15 || [ $$? -eq 5 ]

bench: setup
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Every benchmark at tiny sizes: a benchmark that no longer runs fails CI.
bench-smoke: setup
	for b in benchmarks/*.py; do echo "== $$b --smoke"; $(PY) $$b --smoke || exit 1; done

# The wheel installed into a fresh virtual environment runs `sciloom --help` and the demo's curation phase.
wheel-check:
	bash .ci/wheel_check.sh
