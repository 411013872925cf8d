# Acme Imaging Functions: every target bootstraps from nothing (virtualenv, wheels, npm).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := tools/manifests/node_modules/.installed
WEB_STAMP  := web/node_modules/.installed
WEB_BUILT  := web/dist/index.html
WEB_INPUTS := $(shell find web/src web/public web/ohif web/scripts -type f 2>/dev/null) \
	web/index.html web/vite.config.ts web/tsconfig.json web/eslint.config.js

.PHONY: install demo demo-localstack up test lint typecheck unit schemas clean pacs-tools web browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# LocalStack (the `localstack` extra) in a virtualenv of its own: it brings its own fork of
# moto and pins boto3, which must not replace the project's
LOCALSTACK_VENV  := .venv-localstack
LOCALSTACK_STAMP := $(LOCALSTACK_VENV)/.installed
$(LOCALSTACK_STAMP): pyproject.toml $(STAMP)
	$(PYTHON) -m venv $(LOCALSTACK_VENV)
	$(BIN)/python -c "import tomllib; extra = tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['localstack']; print(*extra, sep='\n')" > $(LOCALSTACK_VENV)/requirements.txt
	$(LOCALSTACK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCALSTACK_VENV)/bin/python -m pip install --quiet -r $(LOCALSTACK_VENV)/requirements.txt
	touch $(LOCALSTACK_STAMP)

# the manifest checks (tests/acme/render): upstream Kubernetes and Knative schemas and types
$(NODE_STAMP): tools/manifests/package.json tools/manifests/package-lock.json
	npm ci --prefix tools/manifests --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# the clinicians' web app (web/): npm packages from the lock, built by Vite into web/dist,
# OHIF's prebuilt viewer into web/dist/viewer (web/scripts/ohif.mjs)
$(WEB_STAMP): web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

$(WEB_BUILT): $(WEB_STAMP) $(WEB_INPUTS) web/package-lock.json
	npm run --prefix web --silent build

## make web: build the web app the gateway serves at / (and OHIF under /viewer/)
web: $(WEB_BUILT)

install: $(STAMP) $(NODE_STAMP) $(LOCALSTACK_STAMP) $(WEB_STAMP)

## make demo: start the embedded platform, send the sample studies, show what happened
demo: install web
	$(BIN)/acme demo

## make demo-localstack: the demo with every bucket in LocalStack (S3 -> SQS notifications)
demo-localstack: install
	$(BIN)/python tests/support/localstack.py demo

## make up: the whole platform in the foreground
up: install web
	$(BIN)/acme up

## make test: lint, type-check and the whole test suite against real servers
test: lint typecheck unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	npm run --prefix web --silent lint

typecheck: install
	$(BIN)/mypy
	npm run --prefix web --silent typecheck
	for dir in functions/*/; do MYPYPATH=$$dir $(BIN)/mypy $$dir || exit 1; done

unit: install pacs-tools browser web
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

## make browser: Debian's Chromium for the web app's browser tests (tests/web), which drive it
## with Playwright; Playwright never downloads a browser of its own
browser:
	@if [ -x /usr/bin/chromium ]; then echo "browser: already installed"; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
	    --no-install-recommends chromium; fi

schemas: install
	$(BIN)/python -m acme.events.schema

clean:
	rm -rf $(VENV) $(LOCALSTACK_VENV) tools/manifests/node_modules web/node_modules web/dist web/.cache .acme .mypy_cache .ruff_cache .pytest_cache
