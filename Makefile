# The two commands of the README:
#   make book   set up .venv, execute every chapter with the default (quick) profile, render HTML
#   make test   set up .venv, run the test suite
#   make lab    set up .venv, open the chapters in JupyterLab (a .py chapter opens as a notebook)
# Options: PROFILE=ci|quick|paper for `make book`; PYTEST_ARGS="..." for `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= quick
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed

# Data come from the official sources (downloaded and verified by hash). A folder laid out like the
# data mirror beside the checkout (../shared/data) is used instead when present, as on CI.
ifeq ($(origin MAMMO_DATA_MIRROR), undefined)
  ifneq ($(wildcard ../shared/data/uci),)
    export MAMMO_DATA_MIRROR := $(abspath ../shared/data)
  endif
endif

.PHONY: book test install lint clean lab

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(BIN)/mammo book --profile $(PROFILE)

# JupyterLab opens a .py chapter as a notebook through jupytext (installed with the rest) and
# saves it back as py:percent text; this venv-wide setting makes that the default viewer.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

$(LAB_SETTINGS): | $(STAMP)
	mkdir -p $(dir $@)
	printf '%s\n' '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}' > $@

lab: $(STAMP) $(LAB_SETTINGS)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) notebooks/01_uci_eda.py

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check mammo_lib tests benchmarks notebooks
	$(BIN)/ruff format --check mammo_lib tests benchmarks

clean:
	rm -rf _build
