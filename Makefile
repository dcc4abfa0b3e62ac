# ML incident workbench: developer and CI entry points.  `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV     := .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed
SAMPLE   := sample_data/fraud_weekend/incident.toml
NOTEBOOK := notebooks/triage.ipynb
CHROMIUM := /usr/bin/chromium

# The object-store tests read S3 through DuckDB's httpfs extension, which PyPI ships only for
# some duckdb releases: that duckdb and its httpfs live here, put first on PYTHONPATH by those
# tests alone (the venv keeps its own duckdb).
HTTPFS_DUCKDB  := 1.5.5
HTTPFS_OVERLAY := $(VENV)/overlays/duckdb-httpfs

HOST     ?= 127.0.0.1
PORT     ?= 8866
LAB_PORT ?= 8888
# INCIDENT=path/to/incident.toml opens `make app` (and `make lab`) on that incident.
INCIDENT ?=
# INCIDENTS_DIR=dir serves every incident config under dir with `make apps`.
INCIDENTS_DIR ?= sample_data

# THEME=dark serves the apps in JupyterLab's dark theme (a link can also add `&theme=dark`).
THEME    ?= light

# What the on-call audience gets: no code, no tracebacks, kernels waiting for the channel.  The
# settings live in config files: voila.json (every server: no code or tracebacks, idle kernels
# of closed pages culled after 2 min, at most 8 kernels with a "busy, retry" page past that)
# plus config/app/voila.json (`make app`: 3 pre-heated kernels, refilled 20 s after a visit: a
# refill re-runs the page with the diagnosis from the cache, and 20 s keeps it off the CPU while
# a burst of visitors' pages render; see benchmarks/bench_voila.py --only-channel) or
# config/apps/voila.json (`make apps`: 3 pre-heated kernels of triage.ipynb that only import,
# then wait for their link's `?incident=`; refilled 5 s after a visit).
VOILA_ON_CALL := --theme=$(THEME)
voila_config = --Voila.config_file_paths=$(CURDIR)/config/$(1) --Voila.config_file_paths=$(CURDIR)
VOILA_APP_OPTS := --no-browser $(call voila_config,app) $(VOILA_ON_CALL)
VOILA_APPS_OPTS := --no-browser $(call voila_config,apps) $(VOILA_ON_CALL)

# Relative paths would be read from the kernel's folder (notebooks/), so pass absolute ones.
INCIDENT_ENV := $(if $(strip $(INCIDENT)),WORKBENCH_INCIDENT="$(abspath $(INCIDENT))",)

.PHONY: help venv sample app apps lab test chromium bench lint clean distclean

help:
	@echo "make venv        create/refresh .venv (Python >= 3.11) with the project and its test extra"
	@echo "make sample      generate the bundled sample incident into sample_data/fraud_weekend/"
	@echo "make app         serve the guided on-call app (notebooks/triage.ipynb) with Voila on"
	@echo "                 http://HOST:PORT/ (default 127.0.0.1:8866); INCIDENT=path/to/"
	@echo "                 incident.toml picks the incident, THEME=dark the dark theme"
	@echo "                 (or add ?theme=dark to the link)"
	@echo "make apps        serve notebooks/ with Voila's tree: the landing page index.ipynb and"
	@echo "                 one ?incident= link per config under INCIDENTS_DIR (default"
	@echo "                 sample_data)"
	@echo "make lab         JupyterLab on notebooks/ (port LAB_PORT, default 8888): the same"
	@echo "                 notebooks, with code, to extend"
	@echo "make test        the test suite (pytest, real headless browser) and ruff"
	@echo "make chromium    install Debian's chromium if /usr/bin/chromium is missing"
	@echo "make bench       run every benchmarks/*.py"
	@echo "make lint        ruff check"
	@echo "make clean       remove caches and test artifacts (distclean also removes .venv"
	@echo "                 and the generated sample)"

# ---------------------------------------------------------------------------------------------
# Environment

venv: $(STAMP)

# Re-installs only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	@set -e; \
	if ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then \
	  interp=""; \
	  for cand in python3.13 python3.12 python3.11 python3; do \
	    if command -v $$cand >/dev/null 2>&1 && \
	       $$cand -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then \
	      interp=$$cand; break; \
	    fi; \
	  done; \
	  if [ -z "$$interp" ]; then \
	    echo "error: Python >= 3.11 is required (tried python3.13, python3.12, python3.11," \
	         "python3)" >&2; \
	    exit 1; \
	  fi; \
	  echo "Creating $(VENV) with $$interp ($$($$interp -c 'import sys; print(sys.version.split()[0])'))"; \
	  $$interp -m venv --clear $(VENV) || { \
	    echo "error: '$$interp -m venv' failed; on Debian/Ubuntu install python3-venv" >&2; \
	    exit 1; }; \
	fi
	$(PY) -m pip install --disable-pip-version-check -e '.[test]'
	$(PY) -m pip install --disable-pip-version-check --upgrade --target $(HTTPFS_OVERLAY) \
	  'duckdb==$(HTTPFS_DUCKDB)' 'duckdb-extension-httpfs==$(HTTPFS_DUCKDB)'
	@touch $(STAMP)

sample: $(SAMPLE)

$(SAMPLE): | $(STAMP)
	$(VENV)/bin/workbench sample

# ---------------------------------------------------------------------------------------------
# Apps

app: venv sample
	@echo "Triage app: http://$(HOST):$(PORT)/"
	$(INCIDENT_ENV) $(VENV)/bin/voila $(NOTEBOOK) --Voila.ip=$(HOST) --port=$(PORT) $(VOILA_APP_OPTS)

# Several incidents from one server: Voila's tree serves notebooks/, and each page reads its
# `?incident=` query parameter, a path relative to WORKBENCH_INCIDENTS_DIR.  Pre-heated kernels
# of triage.ipynb import everything, then wait for their visitor's link to pick the incident.
apps: venv sample
	@test -d "$(INCIDENTS_DIR)" || { echo "error: INCIDENTS_DIR=$(INCIDENTS_DIR) is not a folder" >&2; exit 2; }
	@echo "Notebooks: http://$(HOST):$(PORT)/"
	@echo "Incidents: http://$(HOST):$(PORT)/voila/render/index.ipynb"
	@cd "$(INCIDENTS_DIR)" && find . -name '*.toml' -type f | sed 's|^\./||' | sort | \
	  while IFS= read -r cfg; do \
	    echo "  http://$(HOST):$(PORT)/voila/render/triage.ipynb?incident=$$cfg"; \
	  done
	WORKBENCH_INCIDENTS_DIR="$(abspath $(INCIDENTS_DIR))" $(VENV)/bin/voila notebooks \
	  --Voila.ip=$(HOST) --port=$(PORT) $(VOILA_APPS_OPTS)

lab: venv sample
	$(INCIDENT_ENV) $(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks --ip=$(HOST) \
	  --port=$(LAB_PORT) $(if $(filter 0,$(shell id -u)),--allow-root,)

# ---------------------------------------------------------------------------------------------
# Checks

# pytest exits 5 when no test ran: make treats that as a failure, as it should.
test: venv chromium
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

chromium:
	@if [ -x $(CHROMIUM) ]; then \
	  echo "chromium: $(CHROMIUM) is installed"; \
	else \
	  sudo=""; \
	  if [ "$$(id -u)" != 0 ]; then \
	    if command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	    else echo "error: installing chromium needs root or sudo" >&2; exit 1; fi; \
	  fi; \
	  $$sudo apt-get update && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	fi

bench: venv
	@shopt -s nullglob; files=(benchmarks/*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "no benchmarks/*.py to run"; exit 0; fi; \
	for f in "$${files[@]}"; do \
	  echo "== $$f"; $(PY) "$$f" || exit 1; \
	done

lint: venv
	$(VENV)/bin/ruff check .

clean:
	rm -rf test-artifacts .pytest_cache .ruff_cache build dist benchmarks/out *.egg-info
	find . \( -path ./$(VENV) -o -path ./.git \) -prune -o -type d \
	  \( -name __pycache__ -o -name .ipynb_checkpoints \) -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) sample_data/fraud_weekend
