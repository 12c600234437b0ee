# The template repository's tasks; `make` alone lists them. A fresh machine needs Python 3.11+ and make.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
PROJECT_TEMPLATE := {{cookiecutter.project_slug}}
# The generated project pins uv; the template uses the same release.
UV_VERSION := $(shell sed -n 's/^UV_VERSION := //p' '$(PROJECT_TEMPLATE)/Makefile')
UV := .tools/bin/uv
RUN := $(UV) run --no-sync
DEMO := build/demo
# Where `make new` writes the project: beside this folder, not inside the template.
OUT ?= ..
PY_SOURCES := hooks tests benchmarks e2e local_extensions.py

.PHONY: help setup new test test-fast demo bench lint clean e2e-azure e2e-azure-teardown

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

# pip --target is the fastest bootstrap; a Python without pip (Debian's, say) gets a small venv instead.
$(UV):
	@if $(PYTHON) -m pip --version >/dev/null 2>&1; then \
	  $(PYTHON) -m pip install --quiet --disable-pip-version-check --target .tools "uv==$(UV_VERSION)"; \
	else \
	  $(PYTHON) -m venv .tools && .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"; \
	fi

.venv/.synced: pyproject.toml $(wildcard uv.lock) | $(UV)
	$(UV) sync $(if $(CI),--locked)
	@touch $@

setup: .venv/.synced ## Create .venv with the template's test tools

new: setup ## Generate a project: asks the questions, writes it into OUT (default: the folder above this one)
	$(RUN) cookiecutter --output-dir '$(OUT)' .

test: setup lint ## Lint the template's own Python, then run the whole test suite (bakes projects and runs their checks)
	$(RUN) pytest

test-fast: setup ## Run the fast template tests only (no baked project set-up)
	$(RUN) pytest -m "not slow"

demo: setup ## Bake a project with the default answers into build/demo and run its main job (make run)
	rm -rf $(DEMO)
	$(RUN) cookiecutter --no-input --output-dir $(DEMO) .
	cd $(DEMO)/* && $(MAKE) run

lint: setup ## Lint and format-check the template's own Python (the baked project lints itself in the tests)
	$(RUN) ruff check $(PY_SOURCES)
	$(RUN) ruff format --check $(PY_SOURCES)

bench: setup ## Time the template's fast tests (and their ten slowest), a bake, and a baked project's set-up and tests
	$(RUN) python benchmarks/bench_template.py

e2e-azure: setup ## On a sandbox subscription (az login): bake, deploy dev and prod, train, promote (costs money)
	$(RUN) python e2e/azure.py run

e2e-azure-teardown: setup ## Delete the resource groups `make e2e-azure` made (same E2E_RUN)
	$(RUN) python e2e/azure.py teardown

clean: ## Remove the environment, tools, caches and demo output
	rm -rf .venv .tools build .pytest_cache .ruff_cache
