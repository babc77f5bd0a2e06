# The two set-up commands of the README. Both install what they need on a fresh machine.
#   make serve   virtualenv + install + `cc-proxy serve` on the default config
#   make test    the same + test dependencies + the pinned Claude Code and Codex CLIs from npm, then lint and the suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CLAUDE_CODE_VERSION := 2.1.332
CLAUDE_DIR := .cache/claude-code
CODEX_VERSION := 0.171.0
CODEX_DIR := .cache/codex
AIDER_VERSION := 0.86.2
AIDER_DIR := .cache/aider

.PHONY: serve test lint install install-test claude-code codex aider bench

serve: install
	$(BIN)/cc-proxy serve $(ARGS)

test: install-test claude-code codex aider lint
	CC_PROXY_CLAUDE_BIN=$(CURDIR)/$(CLAUDE_DIR)/node_modules/.bin/claude \
		CC_PROXY_CODEX_BIN=$(CURDIR)/$(CODEX_DIR)/node_modules/.bin/codex \
		CC_PROXY_AIDER_BIN=$(CURDIR)/$(AIDER_DIR)/bin/aider $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	# bytecode now, as pip does for a wheel: where PYTHONDONTWRITEBYTECODE is set, every start would
	# otherwise recompile engine/ and server/ (~60 ms of cold start)
	$(BIN)/python -m compileall -q cc_proxy
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

claude-code: $(CLAUDE_DIR)/.installed-$(CLAUDE_CODE_VERSION)

$(CLAUDE_DIR)/.installed-$(CLAUDE_CODE_VERSION):
	@command -v npm >/dev/null || { echo "make test needs Node.js and npm to install the Claude Code CLI" >&2; exit 1; }
	mkdir -p $(CLAUDE_DIR)
	# engines says node>=22, but since 2.1.113 the package only wraps a native binary that runs on Node 20 too
	npm install --prefix $(CLAUDE_DIR) --no-audit --no-fund --loglevel=error --engine-strict=false \
		@anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION)
	# the postinstall links the native binary; run it again in case install scripts were skipped
	test -x $(CLAUDE_DIR)/node_modules/.bin/claude || node $(CLAUDE_DIR)/node_modules/@anthropic-ai/claude-code/install.cjs
	$(CLAUDE_DIR)/node_modules/.bin/claude --version
	touch $@

codex: $(CODEX_DIR)/.installed-$(CODEX_VERSION)

# The npm package is a launcher; its native binary comes from the registry as an optional dependency
# (@openai/codex@<version>-linux-x64 and friends), so this needs nothing but npm.
$(CODEX_DIR)/.installed-$(CODEX_VERSION):
	@command -v npm >/dev/null || { echo "make test needs Node.js and npm to install the Codex CLI" >&2; exit 1; }
	mkdir -p $(CODEX_DIR)
	npm install --prefix $(CODEX_DIR) --no-audit --no-fund --loglevel=error @openai/codex@$(CODEX_VERSION)
	$(CODEX_DIR)/node_modules/.bin/codex --version
	touch $@

aider: $(AIDER_DIR)/.installed-$(AIDER_VERSION)

# aider (an OpenAI-speaking CLI from PyPI, for the e2e test) pins its whole dependency tree, openai and
# httpx included: it gets a virtualenv of its own rather than the test extra.
$(AIDER_DIR)/.installed-$(AIDER_VERSION):
	$(PYTHON) -m venv $(AIDER_DIR)
	$(AIDER_DIR)/bin/pip install --quiet aider-chat==$(AIDER_VERSION)
	touch $@
