# Careline. Two commands on a fresh machine: `make run` and `make test` (see README).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CARELINE := $(BIN)/careline

.PHONY: run test install install-test lint rasa-venv rasa clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Careline needs Python >= 3.11 (set PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## run: install, create secrets, migrate, first admin (password printed once), NLU model, serve
run: install
	@mkdir -p var
	$(CARELINE) secrets init
	$(CARELINE) db upgrade
	$(CARELINE) users first-admin
	$(CARELINE) train --no-cv
	$(CARELINE) serve

# The suite's workers: one per core, at most 4 (each trains its own NLU model once);
# TEST_WORKERS=0 runs it in this process. A module's tests stay on one worker (its module
# fixtures, such as the trained Rasa model, are set up once); files in collection order, which
# puts the Rasa module first (tests/conftest.py), not xdist's default of the most tests first.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(min(4, len(os.sched_getaffinity(0))))')

## test: install with test extras and run the whole suite (no tests collected = failure)
test: install-test
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

# --- Rasa backend (optional NLU server) --------------------------------------------------
# Rasa 3.6 needs Python 3.10 and pins SQLAlchemy 1.4, so it gets its own venv, kept outside
# the clone so CI installs it once (~2.7 GB). A stamp of the requirements makes reruns instant.
RASA_VENV ?= $(HOME)/.cache/careline/rasa-venv
RASA_PYTHON ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)/versions/3.10.13/bin/python
RASA_REQUIREMENTS := rasa==3.6.21 jieba==0.42.1
RASA_OUT ?= var/rasa
RASA_PORT ?= 5005
# Empty keeps config.yml's values; a quick model: make rasa RASA_EPOCHS=5 RASA_MAX_NGRAM=2
RASA_EPOCHS ?=
RASA_MAX_NGRAM ?=
RASA_TRAIN_ARGS = --venv '$(RASA_VENV)' --out '$(RASA_OUT)' \
	$(if $(RASA_EPOCHS),--epochs $(RASA_EPOCHS)) $(if $(RASA_MAX_NGRAM),--max-ngram $(RASA_MAX_NGRAM))

.PHONY: rasa-train
rasa-venv:
	@stamp='$(RASA_VENV)/.careline-requirements'; \
	want='$(RASA_REQUIREMENTS) with $(RASA_PYTHON)'; \
	if [ -f "$$stamp" ] && [ "$$(cat "$$stamp")" = "$$want" ]; then \
		echo "Rasa venv up to date: $(RASA_VENV)"; exit 0; fi; \
	set -e; \
	[ -x '$(RASA_PYTHON)' ] || { echo "Rasa 3.6 needs Python 3.10 at $(RASA_PYTHON)" \
		"(pyenv install 3.10.13, or make RASA_PYTHON=...)" >&2; exit 1; }; \
	echo "Installing $(RASA_REQUIREMENTS) into $(RASA_VENV) (a few minutes, ~2.7 GB)"; \
	rm -rf '$(RASA_VENV)'; mkdir -p "$$(dirname '$(RASA_VENV)')"; \
	'$(RASA_PYTHON)' -m venv '$(RASA_VENV)'; \
	'$(RASA_VENV)/bin/pip' install --quiet --quiet --no-input --progress-bar off \
		$(RASA_REQUIREMENTS); \
	RASA_TELEMETRY_ENABLED=false PYTHONWARNINGS=ignore TF_CPP_MIN_LOG_LEVEL=2 \
		'$(RASA_VENV)/bin/python' -c 'import jieba, rasa.api, rasa.nlu.tokenizers.jieba_tokenizer'; \
	printf '%s\n' "$$want" > "$$stamp"; \
	echo "Rasa venv ready: $(RASA_VENV)"

# Trains the full model from config.yml and intents/data (reused while nothing changed).
rasa-train: rasa-venv install
	$(BIN)/python -m intents.rasa_train train $(RASA_TRAIN_ARGS)

# Trains if needed, then serves /model/parse on 127.0.0.1:$(RASA_PORT), telemetry off.
rasa: rasa-venv install
	$(BIN)/python -m intents.rasa_train serve $(RASA_TRAIN_ARGS) --port $(RASA_PORT)
