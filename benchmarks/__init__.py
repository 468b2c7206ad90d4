"""Benchmarks and the load test: ``issue.py`` and ``audit.py`` (run as scripts), ``load/``
(``python -m benchmarks.load``) and ``fill.py``, the scratch databases, cast and bulk data they
share."""
