"""Benchmarks of htag-sse: ``python bench/bench_core.py`` (see bench/README.md)."""
