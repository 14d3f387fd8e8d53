"""Benchmarks behind ``python -m rpmbench bench <name>``; each writes ``<output-dir>/*.json``
(default ``runs/benchmarks/``; the committed measurements are under ``results/benchmarks/``)."""
