"""Development tools, outside the installed package: the Chromium harness, a static test server, the wasm
kernels' build, runner and benchmark. Import them from the repository root (`python -m tools.wasm.build`);
pytest puts the root on the path (pyproject's `pythonpath`)."""
