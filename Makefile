# One-command set-up: `make run` opens the app on the demo county, `make test` passes the tests.
# Both create .venv/ in the repository and install into it (again only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-fast bench lint demo

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch and torchvision first, pinned: these versions install from local wheels here (a plain `torch`
	# would pull a multi-GB build from the registry).
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/streamlit run streamlit_app.py

# pytest exits 5 when it collects no tests: that is a failure here, not silence.
test: install
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test-fast: install
	$(PY) -m pytest -m "not slow"

bench: install
	$(PY) bench/run.py

lint: install
	$(VENV)/bin/ruff check audit tests bench streamlit_app.py

demo: install
	$(VENV)/bin/audit demo --out-dir data/demo
