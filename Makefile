.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python

help: ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)

install: $(PY) ## Install backgrid with its test tools into .venv
	$(VENV)/bin/pip install -q -e ".[test]"

demo: install ## Run the main job on the demo data
	$(VENV)/bin/backgrid demo

test: install ## Run the whole test suite (as CI does)
	$(PY) -m pytest

lint: install ## ruff, mypy and the import contracts only
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: install ## Run the benchmarks and print the ratios
	$(PY) -m benchmarks

.PHONY: help install demo test lint bench
