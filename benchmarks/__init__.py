"""Benchmark scripts (not tests): ``python benchmarks/run.py [--quick] [--db-url URL]``."""
