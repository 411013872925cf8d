# Acme Imaging Functions: every target bootstraps from nothing (virtualenv, wheels, npm).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo up test lint typecheck unit schemas clean pacs-tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make demo: start the embedded platform, send the sample studies, show what happened
demo: install
	$(BIN)/acme demo

## make up: the whole platform in the foreground
up: install
	$(BIN)/acme up

## make test: lint, type-check and the whole test suite against real servers
test: lint typecheck unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy
	for dir in functions/*/; do MYPYPATH=$$dir $(BIN)/mypy $$dir || exit 1; done

unit: install pacs-tools
	$(BIN)/pytest

## make pacs-tools: Debian's Orthanc (+ DICOMweb plugin) and DCMTK, the real peers of the
## DICOM edge tests; installed once (skipped when present), never started as a service
PACS_TOOLS := /usr/sbin/Orthanc /usr/share/orthanc/plugins/libOrthancDicomWeb.so /usr/bin/storescu /usr/bin/echoscu
pacs-tools:
	@if ls $(PACS_TOOLS) >/dev/null 2>&1; then echo "pacs-tools: already installed"; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
	    --no-install-recommends orthanc orthanc-dicomweb dcmtk; fi

schemas: install
	$(BIN)/python -m acme.events.schema

clean:
	rm -rf $(VENV) .acme .mypy_cache .ruff_cache .pytest_cache
