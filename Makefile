# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test tools php bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/docbao --config feeds.toml --cache cache

# Programs the suite drives besides docbao: newsboat (the reader docbao is compared with)
# and tmux. Installed when missing where this machine can (Debian's apt-get, as root);
# elsewhere the tests that need them skip and say why.
TOOLS := newsboat tmux
# (another apt-get, such as a fresh machine's own updates, is waited for, not failed on)
APT := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600
tools: php
	@missing=""; for t in $(TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing"; \
	    $(APT) update -qq && $(APT) install -y -qq $$missing >/dev/null; \
	  else echo "not installed:$$missing (the tests that need them skip)"; fi; \
	fi

# PHP for the FreshRSS sync server the sync tests start (../shared/sync-server): installed
# the same way; without it those tests skip and say why.
PHP_PKGS := php8.2-cli php8.2-sqlite3 php8.2-curl php8.2-xml php8.2-mbstring php8.2-intl php8.2-zip php8.2-gmp
php:
	@if ! command -v php >/dev/null || ! php -m 2>/dev/null | grep -qx pdo_sqlite; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing PHP (for the sync tests' FreshRSS)"; \
	    (apt-cache show php8.2-cli >/dev/null 2>&1 || $(APT) update -qq) && \
	    $(APT) install -y -qq --no-install-recommends $(PHP_PKGS) >/dev/null \
	    || echo "PHP could not be installed (the sync tests skip)"; \
	  else echo "not installed: php (the sync tests skip)"; fi; \
	fi

test: $(VENV)/.test-deps tools
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

bench: $(VENV)/.test-deps
	$(BIN)/python bench/micro.py

clean:
	rm -rf $(VENV) build *.egg-info
