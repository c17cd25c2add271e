# One-command set-up: `make run` opens the app on the demo county, `make test` passes the tests.
# Both create .venv/ in the repository and install into it (again only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Two installs: the runtime (app, CLI, inference on onnxruntime: no torch) for `make run` / `make install`, and
# the runtime with the training stack, the test tools and the re-audit's Dask (extras train, dev and scale) for
# `make test` and the benches.
STAMP := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.installed-dev-stamp
# Debian packages for the browser test (chromium driven by playwright), CJK glyphs in its screenshots, and the
# fonts of another design (Kai, a Song of another foundry) that the typeface tests render, and AR PL UMing, whose
# screen bitmaps the board renderer must not draw (tests/test_synth.py).
DEB_PACKAGES := chromium chromium-driver fonts-wqy-microhei fonts-arphic-ukai fonts-arphic-gbsn00lp fonts-arphic-uming
# Debian's PostgreSQL server for the store tests against PostgreSQL (`make postgres`; .ci/run starts it).
PG_DEB_PACKAGES := postgresql
PG_TEST_URL := postgresql+psycopg://village_audit:village_audit@127.0.0.1:5432/village_audit_test

.PHONY: install install-dev runtime-fonts system-packages postgres run test test-fast bench bench-signs bench-speed bench-map lint demo screenshots fuzz mutation

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch and torchvision first, pinned: these versions install from local wheels here (a plain `torch`
	# would pull a multi-GB build from the registry).
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[train,dev,scale]'
	touch $(DEV_STAMP) $(STAMP)

install: $(STAMP) runtime-fonts

install-dev: $(DEV_STAMP)

# The annotated photos' labels need a CJK font: the runtime has no mplfonts (the train extra), so audit.signs.fonts
# looks in the system's font folders for the files it knows (Noto CJK, Source Han, SimHei, WenQuanYi Micro Hei).
# When none is there, Debian's fonts-wqy-microhei (5 MB) is installed with apt-get when we are root.
RUNTIME_FONT_PACKAGE := fonts-wqy-microhei
runtime-fonts:
	@found=$$(find /usr/share/fonts /usr/local/share/fonts \( -iname '*notosanscjk*' -o -iname '*notoserifcjk*' \
	  -o -iname '*sourcehanserif*' -o -iname '*simhei*' -o -iname '*wqy-microhei*' \) 2>/dev/null | head -1); \
	if [ -z "$$found" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(RUNTIME_FONT_PACKAGE) >/dev/null; \
	  else echo "NOTE: no CJK font found and not root or no apt-get: install $(RUNTIME_FONT_PACKAGE) (or fonts-noto-cjk) for the annotated photos' labels" >&2; fi; \
	fi

# Installs the Debian packages above that are missing, with apt-get when we are root (as here and in CI). Elsewhere the
# browser tests report themselves as skipped, loudly; CI sets CI_REQUIRE_BROWSER=1 so they can never skip.
system-packages:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "NOTE: not root or no apt-get: $$missing not installed; browser and typeface tests will be skipped" >&2; fi; \
	fi

# PostgreSQL for the tests: installs Debian's postgresql when missing (as root), creates and starts its cluster, and
# a role and database for the tests (idempotent); then `VILLAGE_AUDIT_TEST_PG_URL=$(PG_TEST_URL) make test` runs the
# store suites on it too. Elsewhere it says why not and the PostgreSQL tests skip (CI_REQUIRE_POSTGRES=1: they fail).
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PG_DEB_PACKAGES) >/dev/null; \
	  else echo "NOTE: not root or no apt-get: $(PG_DEB_PACKAGES) not installed; PostgreSQL tests will be skipped" >&2; exit 0; fi; \
	fi; \
	if [ "$$(id -u)" != 0 ]; then echo "NOTE: not root: start PostgreSQL yourself and set VILLAGE_AUDIT_TEST_PG_URL" >&2; exit 0; fi; \
	ver=$$(ls /usr/lib/postgresql | sort -n | tail -1); \
	pg_lsclusters -h | grep -q "^$$ver main " || pg_createcluster --port 5432 $$ver main >/dev/null; \
	pg_lsclusters -h | grep -q "^$$ver main .* online" || pg_ctlcluster $$ver main start; \
	cd /tmp && n=0; until runuser -u postgres -- pg_isready -q -p 5432; do \
	  n=$$((n + 1)); [ $$n -lt 120 ] || { echo "PostgreSQL $$ver did not start" >&2; exit 1; }; sleep 0.5; done; \
	runuser -u postgres -- psql -p 5432 -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'village_audit'" | grep -q 1 || \
	  runuser -u postgres -- psql -p 5432 -qc "CREATE ROLE village_audit LOGIN PASSWORD 'village_audit'"; \
	runuser -u postgres -- psql -p 5432 -qtAc "SELECT 1 FROM pg_database WHERE datname = 'village_audit_test'" | grep -q 1 || \
	  runuser -u postgres -- psql -p 5432 -qc "CREATE DATABASE village_audit_test OWNER village_audit"; \
	echo "PostgreSQL $$ver up: VILLAGE_AUDIT_TEST_PG_URL=$(PG_TEST_URL)"

# Demo mode: the demo county, data in .cache/demo-data, demo accounts listed on the sign-in page.
run: install
	VILLAGE_AUDIT_DEMO=1 $(VENV)/bin/streamlit run streamlit_app.py

# pytest exits 5 when it collects no tests: that is a failure here, not silence.
test: install-dev system-packages
	$(VENV)/bin/lint-imports
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test-fast: install-dev
	$(PY) -m pytest -m "not slow and not browser"

# Mutated photos (1,000) and registries, rules files and township layers (300 of each kind) through the library
# and the CLI, each in a child process capped at 60 s and 2 GiB; prints crashes per kind, exits 1 on any.
fuzz: install-dev
	$(PY) -m tests.fuzz.run

bench: install
	$(PY) bench/run.py

bench-signs: install-dev
	$(PY) bench/signage_bench.py

# The engine against the plain OCR baseline, model load, batch photos/s with 1 and 2 workers, runtime env size.
bench-speed: install-dev
	$(PY) bench/speed.py --env

bench-map: install-dev system-packages
	$(PY) bench/map_bench.py

# The shipped detector (models/plaques.onnx, as the engine runs it) on boards of designs it never saw (issue 13):
# recall per kind and family, merged precision, identity boards' median IoU; then the held-out generator scenes.
bench-detector: install-dev
	$(PY) bench/detector_plain.py --n 200
	$(VENV)/bin/audit eval-model --n 200 --seed 10000000

lint: install-dev
	$(VENV)/bin/ruff check audit app tests bench streamlit_app.py
	$(VENV)/bin/lint-imports

demo: install
	$(VENV)/bin/audit demo --out-dir data/demo

screenshots: install-dev system-packages
	VILLAGE_AUDIT_SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest tests/test_browser.py -q

# Mutation testing of the decision modules (names, inventory and verdict, style, floor-area rule): every mutant
# takes hours on 2 cores; MUTATION_SAMPLE=60 runs a seeded sample of 60 per module.
MUTATION_SAMPLE ?= 0
mutation: install-dev
	$(PY) bench/mutation.py --sample $(MUTATION_SAMPLE)
