"""Benchmarks: `python -m bench` (what `make bench` runs) runs every module and writes bench/results.md.

Each module is also runnable alone as `python -m bench.<name>` and prints its tables.
"""
