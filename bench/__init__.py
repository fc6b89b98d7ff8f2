"""Benchmarks of the service (`make bench`): not part of the test suite, and no test asserts a time."""
