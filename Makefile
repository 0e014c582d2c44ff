# The course's two entry points (README.md):
#   make course   set up the environment, publish the assignments locally, open JupyterLab
#   make test     set up the environment and run the whole test suite
# Both create .venv/ on first use and reuse it afterwards (reinstalling when the pins change).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# The environment's own scripts (jupyter, nbgrader, alembic) come first on PATH.
RUN := PATH="$(BIN):$$PATH"

.PHONY: course test setup benchmark clean browser

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

course: $(STAMP)
	$(RUN) python -m grader publish
	# Opens (and prints the URL of) work/lectures/lecture_01_nn_module.ipynb: see the config file.
	# --allow-root: containers and CI machines often run as root.
	$(RUN) jupyter lab --allow-root --ServerApp.root_dir=$(CURDIR) --config=grader/jupyter_server_config.py

# The browser tests drive the system's Chromium (Playwright cannot download its own browsers
# offline): install Debian's when missing and possible; without it they skip, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; }; } || \
	  echo "Chromium could not be installed: the browser tests will be skipped."

# Leaves the clone as it found it: removes .course/ and work/ afterwards if the run created them.
# `make test TESTS=tests/test_shards.py` runs a part of the suite.
TESTS ?= tests lectures --nbval
test: $(STAMP) browser
	@created=""; for d in .course work; do [ -e $$d ] || created="$$created $$d"; done; \
	$(RUN) python -m pytest $(TESTS) -p no:cacheprovider; status=$$?; \
	[ -z "$$created" ] || rm -rf $$created; exit $$status

benchmark: $(STAMP)
	$(RUN) python tests/benchmark.py
	$(RUN) python tests/benchmark_learner.py

# Removes nbgrader's working area (gradebook, exchange, submissions, generated data); never
# work/, which holds the students' own copies of lectures and assignments.
clean:
	rm -rf .course
