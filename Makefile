# One command each on a fresh machine: `make demo` and `make test`.
# The CPU build of PyTorch is installed first, pinned, so that resolving the
# project's `torch>=2.2` never pulls a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_SPEC ?= torch==2.13.0
JOBS ?= 2

.PHONY: demo test install install-test lint bench clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH_SPEC)"
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(VENV)/bin/physinv demo

test: install-test
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest -n $(JOBS) --dist loadgroup --doctest-modules src tests

lint: install-test
	$(VENV)/bin/ruff check src tests benchmarks

bench: install
	$(PY) benchmarks/radon_speed.py
	$(PY) benchmarks/solver_speed.py
	$(VENV)/bin/physinv bench --suite classical --json benchmarks/results/classical-latest.json

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
