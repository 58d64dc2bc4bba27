"""Benchmarks: each module's ``run(quick)`` returns rows measured against a baseline in one run."""
