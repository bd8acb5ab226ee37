# AidWatch: `make demo` to see it, `make test` to check it.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Browser tests need Chromium and a CJK font; PDF tests need pdftotext; the storage and
# workflow tests start a throwaway PostgreSQL server of their own.
DEBS   := chromium fonts-wqy-microhei poppler-utils postgresql
DEMO_DROP := $(CURDIR)/demo/drop
DEMO_OUT  := $(CURDIR)/demo/out
# The demo's workspace: snapshots, the run log, triage. The check and the server both use it.
DEMO_WORKSPACE := $(CURDIR)/demo/workspace
# One account per role for the demo, with generated passwords, kept beside it (git-ignored).
DEMO_ACCOUNTS := $(CURDIR)/demo/accounts.txt
# What `make test` runs: every test, or e.g. `make test TESTS=tests/analytics/test_tracking.py`.
TESTS  ?= tests/

.PHONY: setup debs demo test lint fmt

setup: $(STAMP) debs

# Reinstalled only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

debs:
	@missing=""; \
	for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "Not installing$$missing (needs root and apt-get); browser, PDF and PostgreSQL tests need them."; \
	fi

# The demo needs only the Python packages; the Debian packages are for the tests.
demo: $(STAMP)
	@# Generated aside and moved into place, so an interrupted run is not taken for a drop.
	@if [ ! -d $(DEMO_DROP) ]; then \
	  rm -rf $(DEMO_DROP).tmp && \
	  $(VENV)/bin/aidwatch generate --out $(DEMO_DROP).tmp --households 3000 --seed 7 && \
	  mv $(DEMO_DROP).tmp $(DEMO_DROP) && rm -rf $(DEMO_OUT); \
	fi
	@# A check run is recorded in the workspace: run again when either is missing.
	@if [ ! -d $(DEMO_OUT) ] || [ ! -d $(DEMO_WORKSPACE) ]; then \
	  AIDWATCH_WORKSPACE=$(DEMO_WORKSPACE) \
	    $(VENV)/bin/aidwatch check $(DEMO_DROP) --out $(DEMO_OUT); \
	fi
	@if [ ! -s $(DEMO_ACCOUNTS) ]; then \
	  (umask 077 && AIDWATCH_WORKSPACE=$(DEMO_WORKSPACE) \
	    $(VENV)/bin/aidwatch user demo-accounts > $(DEMO_ACCOUNTS).tmp) && \
	  mv $(DEMO_ACCOUNTS).tmp $(DEMO_ACCOUNTS); \
	fi
	@cat $(DEMO_ACCOUNTS)
	@echo "（以上账号也保存在 $(DEMO_ACCOUNTS)）"
	AIDWATCH_DROP=$(DEMO_DROP) AIDWATCH_OUT=$(DEMO_OUT) AIDWATCH_WORKSPACE=$(DEMO_WORKSPACE) \
	  $(VENV)/bin/streamlit run dashboard/app.py --server.port 8501

# The house rules, before any test: the layers (import-linter, contracts in pyproject.toml), lint
# and format (ruff), types (mypy: strict for the rules and the core, gradual elsewhere).
lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Formats the code and applies ruff's safe fixes (import order, pyupgrade).
fmt: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup lint
	$(PY) -m pytest -n 2 $(TESTS)
