"""Where checks run, as a run's JSON document records it: the Keras backend and which formats apply there."""

from __future__ import annotations

from typing import Any

from pytest_tfroundtrip._lazy import process_backend
from pytest_tfroundtrip.formats import all_formats, available_formats, format_names


def format_environment() -> dict[str, Any]:
    """This process's Keras backend, the formats a check runs here by default, why each other one does not, and
    every format in its stable order (for a report's columns).

    Example:
        >>> here = format_environment()
        >>> "keras" in here["formats_available"], "keras" in here["formats_unavailable"]
        (True, False)
    """
    backend = process_backend()
    available = available_formats()
    unavailable = {}
    for fmt in all_formats():
        if fmt.name not in available:
            why = fmt.backend_reason(backend) or fmt.unavailable_reason()
            unavailable[fmt.name] = why or "checked only when named in formats= (not by default)"
    return {"keras_backend": backend, "formats_available": available, "formats_unavailable": unavailable,
            "format_order": format_names()}
