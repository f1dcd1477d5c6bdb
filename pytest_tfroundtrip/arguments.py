"""Validation of arguments shared by the checks: clear errors naming what was received."""

from __future__ import annotations

from pathlib import Path

from pytest_tfroundtrip.errors import RoundTripUsageError

DEFAULT_MAX_EXAMPLES = 20


def validate_max_examples(max_examples: int | None) -> int:
    """The example count to use; ``None`` means the default.

    Example:
        >>> validate_max_examples(None)
        20
    """
    if max_examples is None:
        return DEFAULT_MAX_EXAMPLES
    return validate_positive_int("max_examples", max_examples)


def validate_positive_int(name: str, value: object) -> int:
    """``value`` if it is a whole number >= 1 (not a bool); a clear error otherwise.

    Example:
        >>> validate_positive_int("batch_size", 0)
        Traceback (most recent call last):
        ...
        pytest_tfroundtrip.errors.RoundTripUsageError: batch_size must be a whole number >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RoundTripUsageError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def validate_seed(seed: int | None) -> None:
    """Reject a seed that is not an int (or None)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise RoundTripUsageError(f"seed must be an int or None, got {seed!r}")


def existing_dir(artifacts_dir: str | Path | None) -> str | None:
    """Create ``artifacts_dir`` if given; the parent for temporary artifact directories."""
    if artifacts_dir is None:
        return None
    path = Path(artifacts_dir)
    path.mkdir(parents=True, exist_ok=True)
    return str(path)
