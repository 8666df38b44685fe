# The two commands of the README: `make serve` and `make test`. Everything else is what they need.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: serve test index eval bench clean browser postgres

serve: $(VENV)/.installed
	$(BIN)/htp serve

test: $(VENV)/.installed-dev browser postgres
	$(BIN)/python -m pytest

index: $(VENV)/.installed
	$(BIN)/htp index

eval: $(VENV)/.installed-dev
	$(BIN)/htp eval run evals/suites/dev.jsonl evals/suites/followup.jsonl evals/suites/validity.jsonl --baselines --out eval-out/dev

bench: $(VENV)/.installed-dev
	$(BIN)/htp bench all

# torch is installed first and pinned: 2.13.0 is a CPU wheel on local disk; unpinned it pulls a CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The widget's browser test drives Debian's Chromium; install it when we can (root + apt), else it is skipped.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "make test: installing Debian's chromium with apt-get for the browser tests (a few minutes)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the browser test will be skipped"; fi

# The database tests (tests/test_db_server.py) start a throw-away PostgreSQL server; install Debian's when we can
# (root + apt), else they are skipped.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "make test: installing Debian's postgresql with apt-get for the database tests (a minute or two)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
		|| echo "postgresql could not be installed: the database server tests will be skipped"; fi

clean:
	rm -rf .htp eval-out bench-out
