# The two commands of the README:
#   make book   set up .venv, execute every chapter with the default (quick) profile, render HTML
#   make test   set up .venv, run the test suite
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

.PHONY: book test install lint clean

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

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check mammo_lib tests benchmarks notebooks
	$(BIN)/ruff format --check mammo_lib tests benchmarks

clean:
	rm -rf _build
