"""Exceptions raised by pytest-tfroundtrip."""

from __future__ import annotations


class RoundTripError(AssertionError):
    """A model did not survive a save/reload round trip.

    It is an ``AssertionError`` so that pytest shows it as a test failure, not
    an error. The message covers every failing format.

    Example:
        >>> try:
        ...     raise RoundTripError("format 'h5': load failed")
        ... except AssertionError as error:
        ...     print(error)
        format 'h5': load failed
    """

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class RoundTripUsageError(ValueError):
    """The check was called wrongly (bad argument, unusable model).

    Example:
        >>> raise RoundTripUsageError("rtol must be >= 0, got -1.0")
        Traceback (most recent call last):
        ...
        pytest_tfroundtrip.errors.RoundTripUsageError: rtol must be >= 0, got -1.0
    """
