"""Benchmarks and the load test: ``issue.py``, ``audit.py`` and ``exports.py`` (run as
scripts), ``load/`` (``python -m benchmarks.load``) and ``fill.py``, the scratch databases, cast,
bulk data and measurements they share."""
