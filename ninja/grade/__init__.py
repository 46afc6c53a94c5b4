"""Grading a class: the batch (batch.py), the sandboxed fork server (sandbox.py), the output formats
(formats.py)."""
