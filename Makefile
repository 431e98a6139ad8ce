# Guichet: the two quick-start commands are `make demo` and `make test`.
# Each installs what it needs (Debian packages, a virtual environment in .venv).

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest venv apt-demo apt-test bench clean test-image

demo: apt-demo $(STAMP)
	$(PY) -m guichet demo

test: apt-test $(STAMP) lint typecheck pytest

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

apt-demo:
	scripts/apt-deps.sh demo

apt-test:
	scripts/apt-deps.sh test

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy guichet tickets config printer server kiosk display bench

pytest: $(STAMP)
	$(PY) -m pytest

# The SD-card image recipe run in a Debian bookworm root made with debootstrap (slow: several
# minutes, downloads Debian and PyPI packages; needs root). Not part of `make test`.
test-image: $(STAMP)
	scripts/apt-deps.sh image
	$(PY) -m pytest -m image tests/appliance/test_image.py

bench: $(STAMP)
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-data
