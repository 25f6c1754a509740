# The two set-up commands in the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: demo test install lint format bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[embedded,dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Documents the example repository with the embedded models (no server needed); the
# pages land in examples/python/inventory/docs/reference.
demo: install
	$(PY) -m pipeline run examples/python/inventory --profile embedded

test: install
	$(PY) -m ruff check pipeline tests bench
	$(PY) -m ruff format --check pipeline tests bench
	$(PY) -m pytest -q

lint: install
	$(PY) -m ruff check pipeline tests bench
	$(PY) -m ruff format --check pipeline tests bench

format: install
	$(PY) -m ruff format pipeline tests bench
	$(PY) -m ruff check --fix pipeline tests bench

bench: install
	$(PY) bench/evidence_bench.py
	$(PY) bench/pipeline_bench.py
	$(PY) bench/quality_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
