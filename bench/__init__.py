"""Benchmarks of Embedding Explorer against baselines measured in the same run (see bench/README.md)."""
