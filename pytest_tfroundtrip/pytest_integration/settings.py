"""The settings of a check under pytest: keyword arguments, then the marker, the command line, the ini file.

Precedence for each setting: keyword arguments to ``tf_roundtrip.check``,
then the ``tf_roundtrip`` marker, then the command line, then the ini file,
then the built-in default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.formats import parse_format_names

MARKER = "tf_roundtrip"
DEFAULT_BASELINE_DIR = "tests/roundtrip_baselines"
MARKER_KEYWORDS = ("formats", "rtol", "atol", "max_examples", "input_signature", "inputs", "seed", "finite_inputs", "quantization",
                   "reload_in", "workers", "convert_from_twin")
ROUNDTRIP, CUSTOM_OBJECTS, RESUME = "roundtrip", "custom_objects", "resume_training"
CHECKS = (ROUNDTRIP, CUSTOM_OBJECTS, RESUME)  # what --tf-roundtrip-model runs


def settings_for(config: pytest.Config, node: pytest.Item | None) -> dict[str, Any]:
    """check_roundtrip keyword arguments from ini, command line and marker."""
    __tracebackhide__ = True
    settings: dict[str, Any] = {}
    formats = config.getoption("tf_roundtrip_formats") or config.getini("tf_roundtrip_formats")
    if formats:
        settings["formats"] = parse_format_names(formats)
    max_examples = config.getoption("tf_roundtrip_max_examples") or config.getini("tf_roundtrip_max_examples")
    if max_examples:
        settings["max_examples"] = positive_int(max_examples, "max examples")
    reload_in = config.getoption("tf_roundtrip_reload_in", None) or config.getini("tf_roundtrip_reload_in")
    if reload_in:
        settings["reload_in"] = reload_in
    workers = config.getoption("tf_roundtrip_workers", None) or config.getini("tf_roundtrip_workers")
    if workers:
        settings["workers"] = positive_int(workers, "workers")
    if config.getoption("tf_roundtrip_no_twin", False) or config.getini("tf_roundtrip_convert_from_twin").strip().lower() in ("false", "0", "no"):
        settings["convert_from_twin"] = False
    marker = node.get_closest_marker(MARKER) if node is not None else None
    if marker is not None:
        if marker.args:
            raise RoundTripUsageError(f"@pytest.mark.{MARKER} takes keyword arguments only ({', '.join(MARKER_KEYWORDS)}), got {marker.args!r}")
        unknown = sorted(set(marker.kwargs) - set(MARKER_KEYWORDS))
        if unknown:
            raise RoundTripUsageError(f"@pytest.mark.{MARKER} got unknown arguments {unknown}; it takes {list(MARKER_KEYWORDS)}")
        settings.update(marker.kwargs)
    return settings


def positive_int(value: object, what: str) -> int:
    """``value`` as a whole number >= 1, or a usage error naming ``what``.

    Example:
        >>> positive_int("3", "workers")
        3
    """
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number < 1:
        raise RoundTripUsageError(f"tf-roundtrip {what} must be a whole number >= 1, got {value!r}")
    return number


def keep_artifacts(config: pytest.Config) -> bool:
    """Whether passing checks keep their artifacts too (option, then ini)."""
    option = config.getoption("tf_roundtrip_keep_artifacts")
    return bool(option) if option is not None else bool(config.getini("tf_roundtrip_keep_artifacts"))


def baseline_root(config: pytest.Config) -> Path:
    """The project's baseline directory (option, then ini, then the default), under the rootdir."""
    chosen = config.getoption("tf_roundtrip_baseline_dir") or config.getini("tf_roundtrip_baseline_dir") or DEFAULT_BASELINE_DIR
    return Path(config.rootpath, chosen)



def requested_checks(text: str | None) -> tuple[str, ...]:
    """The checks ``--tf-roundtrip-model-checks`` names (default: all three), validated.

    Example:
        >>> requested_checks("roundtrip, resume_training")
        ('roundtrip', 'resume_training')
    """
    if not text:
        return CHECKS
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in CHECKS]
    if unknown or not names:
        raise RoundTripUsageError(f"--tf-roundtrip-model-checks names {unknown or text!r}; the checks are {', '.join(CHECKS)}")
    return names
