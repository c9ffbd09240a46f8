# seeing: `make demo` runs the live page with the bundled model (base install: no torch, no test tools);
# `make test` installs everything (torch, the dev tools, ESLint) and runs the linters and every test.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BASE := $(VENV)/.installed-base
FULL := $(VENV)/.installed
# Every package at the version the suite last passed with (README: refreshing the pins).
# CONSTRAINTS= (empty) installs the newest versions instead.
CONSTRAINTS ?= constraints.txt
PIN := $(if $(CONSTRAINTS),-c $(CONSTRAINTS))

.PHONY: demo test lint setup base chromium wasm bench bench-web models quality clean constraints

# The base install: what `seeing demo`, serve, translate, import, info and build-site need.
$(BASE): pyproject.toml $(CONSTRAINTS)
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(PIN) -e .
	touch $@

base: $(BASE)

# Everything: torch first (the CPU build from the configured index), then training and the dev tools.
$(FULL): $(BASE)
	$(BIN)/pip install -q $(PIN) torch==2.13.0
	$(BIN)/pip install -q $(PIN) -e '.[train,dev]'
	touch $@

setup: $(FULL)

# Writes constraints.txt from what VENV holds (run after `make test` passed there); local version labels
# such as torch's +cpu are dropped so that any build of that version satisfies the pin.
constraints:
	$(BIN)/pip freeze --exclude-editable | grep -v '^seeing==' | sed -E 's/^([^=]+==[^+]+)\+.*/\1/' > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

demo: base
	$(BIN)/seeing demo

test: setup chromium lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

# ESLint from npm, into tools/eslint only (like the benchmarks' peers).
ESLINT := tools/eslint/node_modules/.bin/eslint
tools/eslint/node_modules/.installed: tools/eslint/package.json tools/eslint/package-lock.json
	cd tools/eslint && npm ci --no-audit --no-fund
	touch $@

# Python (ruff) and the page's modules (ESLint); a finding fails the run.
lint: setup tools/eslint/node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(ESLINT) -c tools/eslint/eslint.config.js src/seeing/web

bench: setup
	$(BIN)/seeing bench

# Browser engines against TF.js and ONNX Runtime Web (npm, into benchmarks/web only) and native ONNX Runtime.
# A benchmark, not a test; pass options with BENCH_WEB_ARGS="--presets small --frames 5".
BENCH_WEB_ARGS ?= --doc docs/BENCHMARKS.md
benchmarks/web/node_modules/.installed: benchmarks/web/package.json
	cd benchmarks/web && npm install --no-audit --no-fund
	touch $@

bench-web: setup chromium benchmarks/web/node_modules/.installed
	SEEING_BENCH_MAKE="$(BENCH_WEB_ARGS)" $(BIN)/python -m benchmarks.web.run $(BENCH_WEB_ARGS)

# The bundled models, from nothing: per world, synth data, training with the default recipe (small preset,
# resize-convolution up layers, MODELS_EPOCHS epochs), uint8 export and thumbnail into src/seeing/models;
# then the quality report. Each world's training time lands in build/models/WORLD-small/build-time.json.
# WORLD:N trains that world N epochs; ALSO worlds are built and reported, not bundled.
WORLDS ?= clouds:16,waves:16,flowers:14
ALSO ?= aurora:10,nebula:14
MODELS_EPOCHS ?= 20
comma := ,
models: setup
	$(BIN)/python scripts/build_models.py --worlds $(WORLDS) --also $(ALSO) --epochs $(MODELS_EPOCHS) --jobs 2
	$(MAKE) quality

# The report compares with the model bundled before resize-convolution (free 4x4 kernels), kept in git history.
BASELINE := build/baseline/nebula-small-transpose.safetensors
$(BASELINE):
	mkdir -p $(dir $@)
	git show c0896ea:src/seeing/models/nebula-small.safetensors > $@

quality: setup $(BASELINE)
	OMP_NUM_THREADS=2 $(BIN)/seeing quality $(foreach w,$(subst $(comma), ,$(WORLDS) $(ALSO)),build/models/$(firstword $(subst :, ,$(w)))-small/best.pt) \
		--bundled src/seeing/models --baseline $(BASELINE) --out docs/QUALITY.md

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info

# The CPU engine's .wasm variants, rebuilt from tools/wasm/kernels.c (deterministic; tests check the committed ones).
wasm:
	$(BIN)/python -m tools.wasm.build
