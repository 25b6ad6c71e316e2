# engage-kit: `make report` renders the demo reports, `make test` runs the tests.
# Both create the virtual environment (.venv) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SIZE ?= full

.PHONY: help setup report test lab bench lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "engage-kit needs Python 3.11 or newer ($(PYTHON) is older); run: make PYTHON=python3.12 ..."; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,lab,spark]"
	$(BIN)/python -m ipykernel install --sys-prefix --name engage-kit --display-name "Python (engage-kit)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv, install the kit (editable) and its Jupyter kernel

report: $(STAMP)  ## render every report on the built-in demo data into reports/demo/
	$(BIN)/engage-kit report --dataset demo --out reports/demo --jobs 2

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lab: $(STAMP)  ## open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)  ## speed and memory benchmarks (SIZE=small for a quick look; STEP=bgnbd_fit for one row)
	$(BIN)/python benchmarks/run.py --size $(SIZE) $(if $(STEP),--steps $(STEP))

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check engage_kit tests benchmarks

clean:  ## remove the virtual environment and rendered reports
	rm -rf $(VENV) reports/demo
