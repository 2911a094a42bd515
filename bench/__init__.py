"""Benchmarks (`make bench`): measured figures, never part of the test suite."""
