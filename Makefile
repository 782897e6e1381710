# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch is pinned here, in the same pip command as the project: an unpinned torch pulls a
# multi-GB CUDA build, while 2.13.0 is the CPU build on this machine's disk.
TORCH  := torch==2.13.0

.PHONY: install lock browser run test test-fast lint fmt clean

install: $(VENV)/.installed

# constraints.txt: the versions last tested together, so a fresh machine installs what passed.
$(VENV)/.installed: pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt "$(TORCH)" -e ".[dev,local]"
	touch $@

# After upgrading packages in the venv and passing `make test`: record their versions.
lock: install
	{ sed -n '/^#/p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^torch=='; } > constraints.tmp
	mv constraints.tmp constraints.txt

run: install
	$(BIN)/python app.py

# The browser test drives Debian's Chromium; Playwright's own browser download is never used.
browser:
	@command -v chromium >/dev/null || (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium))

test: install browser
	$(BIN)/python -m pytest

# The edit loop: everything but the slow tests (browser, subprocesses, bench smoke runs, a second model).
test-fast: install
	$(BIN)/python -m pytest -m "not slow" -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy index qa web settings.py cli.py app.py

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) data .pytest_cache
