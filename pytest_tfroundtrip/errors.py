"""Exceptions raised by pytest-tfroundtrip, and where its warnings point."""

from __future__ import annotations

import os
import sys
import types
import warnings


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


class TrainingDataUnsuitable(RoundTripUsageError):
    """Training the untouched model on the drawn (or given) data raised: the data suits the inputs, not its loss.

    Nothing was saved yet, so it is no finding; pass ``x=`` and ``y=`` that the model trains on.

    Example:
        >>> isinstance(TrainingDataUnsuitable("pass x= and y="), RoundTripUsageError)
        True
    """


class RoundTripInternalError(RuntimeError):
    """pytest-tfroundtrip itself failed: a bug of ours, not a finding about the model.

    Not an ``AssertionError``: it must never read as a verdict.  The original
    exception is its ``__cause__`` (shown with its traceback).

    Example:
        >>> error = RoundTripInternalError.wrapping(OverflowError("int too large"), "check_roundtrip")
        >>> str(error).splitlines()[0]
        'internal error in pytest-tfroundtrip during check_roundtrip (a bug of the checker, not a finding about your model): OverflowError: int too large'
    """

    @classmethod
    def wrapping(cls, error: BaseException, where: str) -> RoundTripInternalError:
        wrapped = cls(
            f"internal error in pytest-tfroundtrip during {where} (a bug of the checker, not a finding about your model): "
            f"{type(error).__name__}: {error_head(error, limit=400)}\n"
            "Please report it with the traceback above; the verdict on your model is unknown."
        )
        wrapped.__cause__ = error
        return wrapped


class RoundTripWarning(UserWarning):
    """A format survived the round trip, but its artifact carries a deployment risk.

    Example: a SavedModel whose serving signature fixes the batch size that
    TensorFlow in Python still accepts, while TF Serving may not.  Turn it into
    an error with ``-W error::pytest_tfroundtrip.RoundTripWarning``.
    """


def error_head(error: BaseException, lines: int = 1, limit: int = 600) -> str:
    """The first ``lines`` lines of an exception's text, joined and capped at ``limit`` characters.

    Example:
        >>> error_head(ValueError("first\\nsecond\\nthird"), lines=2)
        'first second'
    """
    return " ".join(str(error).splitlines()[:lines])[:limit]


def describe_exception(error: BaseException) -> str:
    """An exception's type and text, its cause, and the frame that raised it.

    Example:
        >>> describe_exception(ValueError("bad")).splitlines()[0]
        'ValueError: bad'
    """
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    where = f"\n(raised in {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    text = f"{type(error).__name__}: {error}"
    cause = error.__cause__
    if cause is not None and str(cause) not in text:
        text += f"\ncaused by {type(cause).__name__}: {cause}"
    return text + where


def warn_at_callers_line(warning: Warning) -> None:
    """Raise ``warning`` at the first line outside this package: the user's call, whatever wraps the check.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as seen:
        ...     warnings.simplefilter("always")
        ...     warn_at_callers_line(UserWarning("risk"))
        >>> seen[0].filename.endswith("errors.py")
        False
    """
    package = os.path.dirname(os.path.abspath(__file__))
    frame: types.FrameType | None = sys._getframe(1)
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    warnings.warn(warning, stacklevel=level)
