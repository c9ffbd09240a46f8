# seeing: `make demo` runs the live page with the bundled model; `make test` sets up and runs every test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup chromium wasm bench bench-web default-model quality clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[train,test]'
	touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

demo: setup
	$(BIN)/seeing demo

test: setup chromium
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: setup
	$(BIN)/seeing bench

# Browser engines against TF.js and ONNX Runtime Web (npm, into benchmarks/web only) and native ONNX Runtime.
# A benchmark, not a test; pass options with BENCH_WEB_ARGS="--presets small --frames 5".
BENCH_WEB_ARGS ?= --doc docs/BENCHMARKS.md
benchmarks/web/node_modules/.installed: benchmarks/web/package.json
	cd benchmarks/web && npm install --no-audit --no-fund
	touch $@

bench-web: setup chromium benchmarks/web/node_modules/.installed
	SEEING_BENCH_MAKE="$(BENCH_WEB_ARGS)" $(BIN)/python benchmarks/web/run.py $(BENCH_WEB_ARGS)

# The bundled default model, from nothing: synth data, training, uint8 export into the package, quality report.
# Measured: 59 minutes of training (45 epochs, 6,435 steps, 2-13 images/s) plus 2 minutes of synth data on the
# 2-core CPU development machine while other jobs shared it (at the 18-20 images/s it logged when quieter: ~22 minutes).
DM := build/default-model
DEFAULT_EPOCHS ?= 45
default-model: setup
	OMP_NUM_THREADS=1 $(BIN)/seeing data synth $(DM)/nebula --kind nebula --palette random -n 600 --seed 1
	OMP_NUM_THREADS=1 $(BIN)/seeing train $(DM)/nebula --preset small --epochs $(DEFAULT_EPOCHS) --seed 0 \
		--save-every 5 --out $(DM)/nebula-small $(if $(wildcard $(DM)/nebula-small/last.pt),--resume)
	$(BIN)/seeing export $(DM)/nebula-small --precision uint8 --out src/seeing/models
	$(MAKE) quality

quality: setup
	OMP_NUM_THREADS=1 $(BIN)/seeing quality $(DM)/nebula-small --bundled src/seeing/models --out docs/QUALITY.md

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info

# The CPU engine's .wasm variants, rebuilt from src/seeing/wasm/kernels.c (deterministic; tests check the committed ones).
wasm:
	$(BIN)/python -m seeing.wasm.build
