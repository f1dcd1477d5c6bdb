"""The HTML report: one self-contained page of a run's JSON document (matrix, details on click, pictures).

``pytest --tf-roundtrip-html=FILE`` and ``tf-roundtrip check|zoo|merge --html FILE`` write it.
Importing this package imports neither TensorFlow, Keras nor NumPy.

Example:
    >>> from pytest_tfroundtrip.results.json_report import json_document
    >>> here = {"keras_backend": "tensorflow", "formats_available": ["keras"], "formats_unavailable": {}}
    >>> "<table" in html_report(json_document([], environment=here))
    True
"""

from __future__ import annotations

from pytest_tfroundtrip.results.html.page import html_report, write_html_report

__all__ = ["html_report", "write_html_report"]
