"""Benchmarks behind ``python -m rpmbench bench <name>``; each writes ``results/benchmarks/*.json``."""
