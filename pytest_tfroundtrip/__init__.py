"""pytest-tfroundtrip: prove a Keras model survives saving and reloading.

Importing this package is cheap: TensorFlow and Keras are imported only when a
check runs.

Example:
    >>> import pytest_tfroundtrip
    >>> "keras" in pytest_tfroundtrip.available_formats()
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_tfroundtrip.errors import RoundTripError, RoundTripInternalError, RoundTripUsageError, RoundTripWarning
from pytest_tfroundtrip.formats import available_formats

if TYPE_CHECKING:
    from pytest_tfroundtrip.checks.baseline import BaselineReport, check_baseline
    from pytest_tfroundtrip.checks.custom_objects import CustomObjectsReport, check_custom_objects
    from pytest_tfroundtrip.checks.resume import ResumeReport, check_resume_training
    from pytest_tfroundtrip.checks.roundtrip import check_roundtrip
    from pytest_tfroundtrip.results.report import FormatResult, RoundTripReport

__all__ = [
    "BaselineReport",
    "CustomObjectsReport",
    "FormatResult",
    "ResumeReport",
    "RoundTripError",
    "RoundTripInternalError",
    "RoundTripReport",
    "RoundTripUsageError",
    "RoundTripWarning",
    "available_formats",
    "check_baseline",
    "check_custom_objects",
    "check_resume_training",
    "check_roundtrip",
]

_LAZY = {
    "check_baseline": "pytest_tfroundtrip.checks.baseline",
    "BaselineReport": "pytest_tfroundtrip.checks.baseline",
    "check_custom_objects": "pytest_tfroundtrip.checks.custom_objects",
    "CustomObjectsReport": "pytest_tfroundtrip.checks.custom_objects",
    "check_roundtrip": "pytest_tfroundtrip.checks.roundtrip",
    "check_resume_training": "pytest_tfroundtrip.checks.resume",
    "ResumeReport": "pytest_tfroundtrip.checks.resume",
    "RoundTripReport": "pytest_tfroundtrip.results.report",
    "FormatResult": "pytest_tfroundtrip.results.report",
}


def __getattr__(name: str) -> Any:
    # runner imports numpy and hypothesis; keep `import pytest_tfroundtrip` light.
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'pytest_tfroundtrip' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
