"""Benchmarks and the load test: ``issue.py`` and ``audit.py`` (run as scripts) and ``load/``
(``python -m benchmarks.load``)."""
