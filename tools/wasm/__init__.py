"""The CPU engine's kernels: kernels.c, its build into src/seeing/web/*.wasm, a wasmtime runner and a benchmark."""
