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

.PHONY: setup lab instructor test bench data release check clean

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

clean:
	rm -rf $(VENV) .venv-py312 grading .pytest_cache
