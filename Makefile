# Two set-up commands: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch first, pinned to the CPU build: pip must never resolve a CUDA torch.
TORCH := torch==2.13.0
WHEELS := $(wildcard /opt/wheels)
PIP_FIND := $(if $(WHEELS),--find-links $(WHEELS),--index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple)

.PHONY: demo test docs venv install install-test install-docs clean motion-library

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.torch: $(BIN)/python
	$(BIN)/python -m pip install --quiet $(PIP_FIND) $(TORCH)
	touch $@

venv: $(VENV)/.torch

$(VENV)/.installed: $(VENV)/.torch pyproject.toml
	$(BIN)/python -m pip install --quiet $(PIP_FIND) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.torch pyproject.toml
	$(BIN)/python -m pip install --quiet $(PIP_FIND) -e ".[test]"
	touch $@ $(VENV)/.installed

$(VENV)/.installed-docs: $(VENV)/.torch pyproject.toml
	$(BIN)/python -m pip install --quiet $(PIP_FIND) -e ".[test,docs]"
	touch $@ $(VENV)/.installed $(VENV)/.installed-test

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-docs: $(VENV)/.installed-docs

demo: install
	$(BIN)/kinelift demo --out demo_output

test: install-test
	$(BIN)/python -m pytest -q -m "not slow"

# The lifter's real motion library from ../shared/data (about 3.5 minutes; kinelift/lifting/configs/*_real.toml train on it).
motion-library: install
	$(BIN)/kinelift motion-library --overwrite

# The Sphinx site: API reference, prose pages, tutorials run at build time; warnings are errors.
docs: install-docs
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

clean:
	rm -rf $(VENV) demo_output .pytest_cache docs/_build docs/api/generated docs/tutorials
