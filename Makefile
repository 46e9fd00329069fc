# Two commands do all the set-up: `make demo` and `make test` (see README.md).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
TFF_VERSION := 0.87.0
# Official dataset files: $TFF_COURSE_DATA_DIR, else ../shared/data when it exists.
DATA_DIR ?= $(or $(TFF_COURSE_DATA_DIR),$(wildcard ../shared/data))
# Test processes (pytest-xdist; a test file stays in one process): 2 for a 2-core laptop.
TEST_WORKERS ?= 3

.PHONY: install demo test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt setup.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "tff-course needs Python 3.11 (TensorFlow 2.14 / TFF 0.87); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps tensorflow-federated==$(TFF_VERSION)
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt
	$(BIN)/pip install --quiet -r requirements-test.txt
	@touch $@

demo: install
ifneq ($(DATA_DIR),)
	$(BIN)/tff-course data summary --dataset mnist --partition dirichlet --alpha 0.1 --clients 100 --data-dir $(DATA_DIR) --out runs/demo/partition
else
	@echo "No data directory (set TFF_COURSE_DATA_DIR): partitioning the built-in synthetic data."
	$(BIN)/tff-course data summary --dataset synthetic --out runs/demo/partition
endif
	$(BIN)/tff-course demo --out runs/demo/fedavg

test: $(VENV)/.test-installed
	TFF_COURSE_DATA_DIR=$(DATA_DIR) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile tests

bench: install
	TFF_COURSE_DATA_DIR=$(DATA_DIR) $(BIN)/python benchmarks/bench_partition.py --append

clean:
	rm -rf $(VENV) runs build *.egg-info
