# The course's two everyday commands are `make lab` (set up, then open the course) and
# `make test` (set up, then run the tests). Everything else here serves those two.
#
#   make setup   build .venv (idempotent: re-runs only when pyproject.toml or this file change)
#   make lab     set up, copy new lessons into my-lessons/ (the student's working copy, never
#                overwritten), then open JupyterLab there with nbgrader's student tools
#   make instructor  set up, then open JupyterLab with Formgrader and Create Assignment (grading/)
#   make test    set up, then run the whole test suite (offline, quick mode)
#   make bench   set up, then print the benchmark figures (benchmarks/)
#   make release regenerate lessons/ from solutions/ (instructors)
#   make tf-env  build .venv-tf, the TensorFlow Privacy appendix's own environment (Python 3.11 only),
#                and register its Jupyter kernel "ppml-tf" (idempotent; see requirements-tf.txt)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch is installed first and on its own, so that the rest of the install finds it satisfied.
# TORCH_SPEC reaches pip as separate words, so it may carry pip options. 2.13.0 is the CPU build
# on the course machines; on a laptop without CUDA a CPU build saves gigabytes:
#   make lab TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.13.0
# Every extra of pyproject.toml the lessons need (torch, federated, remote), Jupyter + nbgrader, pytest.
EXTRAS := torch,federated,remote,course,dev
PIP    := $(BIN)/python -m pip install --disable-pip-version-check
# Extra arguments for JupyterLab, e.g. make lab LAB_ARGS="--no-browser --port=8890"
LAB_ARGS ?=
STAMP  := $(VENV)/.course-installed
PYTEST_ARGS ?=
JOBS   ?= 2
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup lab instructor test bench data release check clean tf-env

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || { echo "Creating the virtual environment $(VENV)/"; $(PYTHON) -m venv $(VENV); }
	@echo "Installing PyTorch ($(TORCH_SPEC)), the biggest download of the set-up: a few GB on Linux from the default index (CUDA libraries included), a few hundred MB for a CPU build. This can take several minutes."
	$(PIP) $(TORCH_SPEC)
	@echo "Installing the course and its other dependencies (pyproject.toml, extras $(EXTRAS)): a minute or two the first time."
	$(PIP) -e ".[$(EXTRAS)]"
	$(BIN)/python -m autograder setup-jupyter
	@touch $(STAMP)

lab: setup
	$(BIN)/python -m autograder lab $(LAB_ARGS)

instructor: setup
	$(BIN)/python -m autograder instructor $(LAB_ARGS)

test: setup
	COURSE_QUICK=1 MPLBACKEND=Agg $(BIN)/python -m pytest -n $(JOBS) --dist loadscope $(PYTEST_ARGS)

bench: setup data
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(BIN)/python benchmarks/run_all.py

# Full Fashion-MNIST for the benchmarks, from Debian's package where we may install it.
data:
	@test -d /usr/share/datasets/fashion-mnist || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	  else echo "Fashion-MNIST not found: sudo apt-get install dataset-fashion-mnist, or set COURSE_DATA_DIR"; fi; }

release: setup
	$(BIN)/python -m autograder release

check: setup
	$(BIN)/python -m autograder check

# The appendix on TensorFlow Privacy runs in a second environment: TF Privacy 0.9.0 (its latest release)
# declares Requires-Python < 3.12 and needs TensorFlow <= 2.15 (Keras 2) with numpy 1.x, which cannot share
# .venv (numpy 2, Flower's protobuf). Its kernel "ppml-tf" is registered in .venv's Jupyter when .venv
# exists (where `make lab` looks), else in the user's Jupyter folder; TF_KERNEL_PREFIX overrides.
PYTHON_TF ?= $(shell command -v python3.11 2>/dev/null || echo $(PYTHON))
VENV_TF   ?= .venv-tf
TF_STAMP  := $(VENV_TF)/.tf-installed
TF_KERNEL_PREFIX ?= $(if $(wildcard $(BIN)/python),$(abspath $(VENV)),)

tf-env: $(TF_STAMP)

$(TF_STAMP): requirements-tf.txt pyproject.toml
	@$(PYTHON_TF) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else "make tf-env needs Python 3.11, found %d.%d (%s). TensorFlow Privacy 0.9.0, its latest release, declares Requires-Python < 3.12 and needs TensorFlow <= 2.15 (Keras 2), which publishes no wheels for Python 3.12; the course itself needs 3.11 or newer. Install Python 3.11 and run: make tf-env PYTHON_TF=python3.11" % (v + (sys.executable,)))'
	@test -x $(VENV_TF)/bin/python || { echo "Creating $(VENV_TF)/ with $(PYTHON_TF)"; $(PYTHON_TF) -m venv $(VENV_TF); }
	@echo "Installing TensorFlow 2.15.1 and TensorFlow Privacy 0.9.0 (requirements-tf.txt): about 2 GB on disk, a few minutes the first time."
	$(VENV_TF)/bin/python -m pip install --disable-pip-version-check -r requirements-tf.txt
	@echo "Installing the course's helpers into $(VENV_TF)/ without dependencies (the pins above replace the base's ranges; no torch)."
	$(VENV_TF)/bin/python -m pip install --disable-pip-version-check --no-deps -e .
	$(VENV_TF)/bin/python -c 'import helpers, helpers.checks, helpers.accounting, tensorflow_privacy; print("ok: helpers and tensorflow_privacy import in $(VENV_TF)")'
	$(VENV_TF)/bin/python -m ipykernel install $(if $(TF_KERNEL_PREFIX),--prefix "$(TF_KERNEL_PREFIX)",--user) --name ppml-tf --display-name "Python 3 (ppml-tf)"
	@touch $(TF_STAMP)

clean:
	rm -rf $(VENV) $(VENV_TF) .venv-py312 grading .pytest_cache
