# pyhttpd developer targets. `make run` and `make test` each install what they need on a fresh
# Debian machine: a virtual environment in .venv (also `make venv`) and the system tools the tests
# drive (curl, ab, and apache2 for the differential test). apt-get runs only for a missing tool.
# `make bench` (QUICK=1 for a run under two minutes) adds wrk, nginx, Apache's mod_wsgi and the
# `bench` extras (gunicorn, matplotlib, py-spy).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_TOOLS := curl:curl ab:apache2-utils htpasswd:apache2-utils apache2:apache2 slowhttptest:slowhttptest \
             haproxy:haproxy logrotate:logrotate lintian:lintian dpkg-deb:dpkg \
             chromium:chromium
# Debian's Python libraries the installed pyhttpd (make install, the .deb) runs on: module:package
APT_PYTHON := pyparsing:python3-pyparsing click:python3-click psutil:python3-psutil \
              setproctitle:python3-setproctitle bcrypt:python3-bcrypt
# make install: an FHS tree (see packaging/install.sh); DESTDIR stages it elsewhere
PREFIX     ?= /usr/local
DESTDIR    ?=
BENCH_APT_TOOLS := wrk:wrk ab:apache2-utils apache2:apache2 nginx:nginx perf:linux-perf
BENCH_STAMP := $(VENV)/.bench-stamp
PYTEST_ARGS ?=
QUICK ?=
BENCH_ARGS ?=

.PHONY: venv system-deps bench-deps run test bench lint fmt clean install deb lint-deb

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	    echo "python3 -m venv failed: installing python3-venv"; \
	    $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q python3-venv python3-pip && \
	    $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

system-deps:
	@missing=""; for pair in $(APT_TOOLS); do \
	    tool=$${pair%%:*}; command -v $$tool >/dev/null 2>&1 || test -x /usr/sbin/$$tool || \
	    missing="$$missing $${pair#*:}"; done; \
	for pair in $(APT_PYTHON); do \
	    /usr/bin/python3 -c "import $${pair%%:*}" 2>/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

bench-deps: venv $(BENCH_STAMP)
	@$(MAKE) --no-print-directory system-deps APT_TOOLS="$(BENCH_APT_TOOLS)"
	@test -e /usr/lib/apache2/modules/mod_wsgi.so || { $(SUDO) apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q libapache2-mod-wsgi-py3; }

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	@touch $(BENCH_STAMP)

# The default site on 127.0.0.1: PORT=9000 make run, else 8080 when free, else any free port.
run: venv
	@port="$(PORT)"; [ -n "$$port" ] || port=$$($(BIN)/python scripts/free_port.py 8080); \
	$(BIN)/pyhttpd -d $(CURDIR) -t -C "Define PYHTTPD_PORT $$port" && \
	echo "Serving $(CURDIR)/htdocs on http://127.0.0.1:$$port/ (pyhttpd -X; Ctrl-C stops it)" && \
	exec $(BIN)/pyhttpd -d $(CURDIR) -X -C "Define PYHTTPD_PORT $$port"

test: venv system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The administrator's path: install as a system service (Debian), or build the package.
install:
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) packaging/install.sh

deb:
	@packaging/debian/build.sh

lint-deb: deb
	lintian --fail-on warning build/pyhttpd_*_all.deb

# pyhttpd beside Apache, nginx, gunicorn and a bare Python responder: a table on the terminal,
# build/bench/latest.json and latest.png. Not part of `make test`. QUICK=1: under two minutes.
bench: bench-deps
	$(BIN)/python -m scripts.bench $(if $(filter-out 0,$(QUICK)),--quick) $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check pyhttpd tests scripts
	$(BIN)/ruff format --check pyhttpd tests scripts

fmt: venv
	$(BIN)/ruff format pyhttpd tests scripts
	$(BIN)/ruff check --fix pyhttpd tests scripts

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
