PY     := .venv/bin/python
V01    := tests/conformance_official/v01
V02    := tests/conformance_official/v02
CONF01 := $(V01)/node_modules/.bin/node $(V01)/node_modules/@modelcontextprotocol/conformance/dist/index.js
CONF02 := $(V02)/node_modules/.bin/node $(V02)/node_modules/@modelcontextprotocol/conformance/dist/index.js
INSP   := tests/inspector
VENV   := .venv/.installed
CONF   := $(V01)/node_modules/.stamp $(V02)/node_modules/.stamp
# the benchmark's extra peers and plots: fastmcp + matplotlib (the `bench` extra) and node 22 with
# the official TypeScript SDK (bench/package-lock.json)
BENCH_DEPS := .venv/.bench-installed bench/node_modules/.stamp

.PHONY: run test fuzz lint bench bench-quick bench-deps conformance-report clean system-packages

# make run PORT=8001: the example server on another port.
PORT   ?= 8000
run: $(VENV)
	$(PY) -m servers.everything --port $(PORT)

test: $(VENV) $(CONF) $(INSP)/node_modules/.stamp $(BENCH_DEPS) system-packages lint
	$(PY) -m pytest $(PYTEST_ARGS)

# The properties of tests/fuzz with FUZZ_FACTOR times more examples each (minutes in all).
fuzz: $(VENV)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/fuzz --timeout=1800 $(PYTEST_ARGS)

# Every finding fails: formatting, lint rules and types (configured in pyproject.toml), and a
# `type: ignore[code]` without a reason after it (`# type: ignore[code]  # why`). All four
# checks run, so one pass shows every finding.
LINTED := mcp_transport servers clients conformance bench tests
lint: $(VENV)
	@status=0; \
	$(PY) -m ruff format --check $(LINTED) || status=1; \
	$(PY) -m ruff check $(LINTED) || status=1; \
	$(PY) -m mypy || status=1; \
	if grep -rnE --include='*.py' --exclude-dir=node_modules 'type: *ignore(\[[^]]*\])? *$$' $(LINTED); \
	then echo 'lint: give each `type: ignore` above a reason: `# type: ignore[code]  # why`'; status=1; fi; \
	exit $$status

# Every figure, target and scaling curve (plots in docs/performance/, table in docs/performance.md).
bench: $(VENV) $(BENCH_DEPS)
	$(PY) -m bench.run

# The main ratios and targets in under 2 minutes (short runs; of the curves only resume, for its
# target; docs/ left alone).
bench-quick: $(VENV) $(BENCH_DEPS)
	$(PY) -m bench.run --quick --no-docs

bench-deps: $(BENCH_DEPS)

.venv/.bench-installed: pyproject.toml $(VENV)
	$(PY) -m pip install -e '.[dev,bench]'
	touch $@

conformance-report: $(VENV) $(CONF)
	$(PY) -m conformance.report

$(VENV): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -e '.[dev]'
	touch $@

# redis-server, haproxy, nginx and chromium from Debian's packages, installed when missing (the
# tests run them).
system-packages:
	scripts/ensure-system-packages

# node 22 arrives via the `node` package's preinstall script: never --ignore-scripts. The same
# rule installs the MCP Inspector (tests/inspector) that tests/test_inspector_cli.py drives.
%/node_modules/.stamp: %/package-lock.json
	cd $* && npm ci --no-audit --no-fund
	touch $@

clean:
	rm -rf .venv $(V01)/node_modules $(V02)/node_modules $(INSP)/node_modules bench/node_modules
