# The course's two everyday commands are `make lab` (set up, then open the course) and
# `make test` (set up, then run the tests). Everything else here serves those two.
#
#   make setup   build .venv (idempotent: re-runs only when pyproject.toml or this file change)
#   make lab     set up, then open JupyterLab on lessons/ with the course kernel and nbgrader
#   make test    set up, then run the whole test suite (offline, quick mode)
#   make bench   set up, then print the benchmark figures (benchmarks/)
#   make release regenerate lessons/ from solutions/ (instructors)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch is installed first and on its own, so that the rest of the install finds it satisfied.
# 2.13.0 is the CPU build on the course machines; on a laptop without CUDA, e.g.
#   make setup TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.course-installed
PYTEST_ARGS ?=
JOBS   ?= 2
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup lab test bench data release check clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[course,dev]"
	$(BIN)/python -m autograder setup-jupyter
	@touch $(STAMP)

lab: setup
	$(BIN)/jupyter lab --notebook-dir=lessons $(if $(filter 0,$(shell id -u)),--allow-root)

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
