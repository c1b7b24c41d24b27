# The two commands a fresh machine needs: `make run` and `make test` (Python >= 3.11 and make only).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= test
comma := ,
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)-$(subst $(comma),_,$(EXTRAS))
KERNEL := reference/aiterms/dataset/_kernel

.PHONY: run test fuzz bench build clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# The editable install also compiles the optional C kernel in place (reference/aiterms/dataset/_kernel*.so), so it
# reruns when the C source changes. The old .so goes first: a kernel that no longer compiles leaves none behind.
$(STAMP): $(BIN)/python pyproject.toml $(KERNEL).c
	$(BIN)/python -m pip install -q --upgrade pip
	rm -f $(KERNEL)*.so
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	@$(BIN)/python -c 'import aiterms.dataset._kernel' 2>/dev/null || echo "note: C kernel not built (no C compiler, or a compile error: $(BIN)/pip install -v -e . shows it); the pure-Python path runs"
	rm -f $(VENV)/.installed-*; touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m aiterms._demo

test: $(STAMP)
	$(BIN)/python -m aiterms._build --check
	$(BIN)/ruff check reference tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

fuzz: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/fuzz -m fuzz --hypothesis-profile=fuzz

bench: $(STAMP)
	$(BIN)/python -m aiterms.bench

build:
	$(BIN)/python -m aiterms._build

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis reference/aiterms.egg-info $(KERNEL)*.so
