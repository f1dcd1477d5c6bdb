"""What every public check does around its work, in one decorator.

While a check runs, hypothesis's files go to a temporary directory
(:mod:`~pytest_tfroundtrip.isolation.hypothesis_files`) and warnings raised
inside TensorFlow, Keras and the runtimes are counted, not shown
(:mod:`~pytest_tfroundtrip.isolation.internal_warnings`).  When it ends, passed
or failed, its report is recorded (:mod:`~pytest_tfroundtrip.results.records`)
for the matrix, the JSON file and JUnit.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pytest_tfroundtrip.errors import RoundTripInternalError, RoundTripUsageError
from pytest_tfroundtrip.isolation.hypothesis_files import hypothesis_files_in_temporary_directory
from pytest_tfroundtrip.isolation.internal_warnings import internal_warnings_collected
from pytest_tfroundtrip.results import records

Function = TypeVar("Function", bound=Callable[..., Any])


def public_check(function: Function) -> Function:
    """Decorate a public check (``check_roundtrip``, ...): nothing written to the user's project, internal warnings counted."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        started = time.perf_counter()
        model = args[0] if args else kwargs.get("model")
        refuse_a_search_hypothesis_would_stop(function.__name__)
        try:
            with internal_warnings_collected(), hypothesis_files_in_temporary_directory():
                report = function(*args, **kwargs)
        except AssertionError as error:  # RoundTripError carries the report
            _record(getattr(error, "report", None), started, model)
            raise
        except (RoundTripUsageError, RoundTripInternalError, KeyboardInterrupt):
            raise
        except Exception as error:  # escaped every per-format handler: ours, never a finding
            raise RoundTripInternalError.wrapping(error, function.__name__) from error
        _record(report, started, model)
        return report

    return wrapper  # type: ignore[return-value]


def refuse_a_search_hypothesis_would_stop(check: str) -> None:
    """Inside the user's own ``@given`` test, hypothesis stops our search with its ``nested_given`` health check
    unless the user's test suppresses it: say so before starting, as misuse with its fix, not as an error of ours.

    Example:
        >>> refuse_a_search_hypothesis_would_stop("check_roundtrip")  # not inside a @given test: nothing to say
    """
    if "hypothesis" not in sys.modules:  # no @given test can be running
        return
    from hypothesis import HealthCheck, settings
    from hypothesis.control import currently_in_test_context

    nested_given = getattr(HealthCheck, "nested_given", None)  # hypothesis >= 6.118
    if nested_given is None or not currently_in_test_context() or nested_given in settings().suppress_health_check:
        return
    raise RoundTripUsageError(
        f"{check} runs its own hypothesis search, and this is inside a @given test: hypothesis refuses a nested "
        "@given unless the outer test allows it. Add @settings(suppress_health_check=[HealthCheck.nested_given]) "
        "to your @given test (from hypothesis import HealthCheck, settings)")


def _record(report: Any, started: float, model: Any) -> None:
    record = records.record_of(report, time.perf_counter() - started, model) if report is not None else None
    if record is not None:
        records.COLLECTED.add(record)
