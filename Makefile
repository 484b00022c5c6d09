# Every target works from a fresh clone: it creates .venv and installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

.PHONY: install test lint demo serve bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Azurite (the Storage emulator) for queue tests, installed into the repo from npm.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install lint
	$(PY) -m pytest

# Plays the seed's scenarios against the local stack (devhost + emulator).
demo: install
	$(PY) -m demo

# The app on http://127.0.0.1:7071/api, like `func start`. With AZURE_OPENAI_ENDPOINT empty (as in the
# example settings) devhost starts the emulator and points the app at it, and Azurite for the queues.
serve: install local.settings.json
	$(PY) -m devhost --app function_app --port 7071

local.settings.json:
	cp local.settings.json.example $@

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache

# Infra checkers (checkov) live in their own virtualenv: their dependencies must not move the app's pins.
TOOLS := .venv-tools

$(TOOLS)/.installed: requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	touch $@

.PHONY: tools clean-tools
tools: $(TOOLS)/.installed

# tests/infra runs $(TOOLS)/bin/checkov.
test: tools

clean: clean-tools
clean-tools:
	rm -rf $(TOOLS)
