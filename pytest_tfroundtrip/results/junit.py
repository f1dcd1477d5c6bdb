"""JUnit XML properties from check records: the key figures CI dashboards show per test."""

from __future__ import annotations

from typing import Any


def junit_properties(checks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(name, value)`` pairs for JUnit XML: one per check and one per format in it.

    Example:
        >>> junit_properties([{"kind": "roundtrip", "passed": True, "seconds": 1.5, "formats": [
        ...     {"label": "keras", "verdict": "passed", "max_abs_error": 0.0, "examples": 12}]}])
        [('tf_roundtrip.roundtrip', 'passed; 1 formats; 1.5 s'), ('tf_roundtrip.roundtrip.keras', 'passed; max_abs_error=0; examples=12')]
    """
    properties = []
    for index, check in enumerate(checks):
        prefix = f"tf_roundtrip.{check['kind']}" + (f"[{index}]" if index else "")
        properties.append((prefix, f"{'passed' if check['passed'] else 'failed'}; {len(check['formats'])} formats; "
                                   f"{check.get('seconds', 0):g} s"))
        for entry in check["formats"]:
            figures = [entry["verdict"]]
            if entry.get("max_abs_error") is not None and entry["verdict"] in ("passed", "failed"):
                figures.append(f"max_abs_error={entry['max_abs_error']:.3g}")
            if entry.get("examples"):
                figures.append(f"examples={entry['examples']}")
            if entry.get("stage") and entry["verdict"] != "passed":
                figures.append(f"stage={entry['stage']}")
            properties.append((f"{prefix}.{entry['label']}", "; ".join(figures)))
    return properties
