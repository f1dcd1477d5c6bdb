"""What every public check does around its work, in one decorator.

While a check runs, hypothesis's files go to a temporary directory
(:mod:`~pytest_tfroundtrip.isolation.hypothesis_files`) and warnings raised
inside TensorFlow, Keras and the runtimes are counted, not shown
(:mod:`~pytest_tfroundtrip.isolation.internal_warnings`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from pytest_tfroundtrip.isolation.hypothesis_files import hypothesis_files_in_temporary_directory
from pytest_tfroundtrip.isolation.internal_warnings import internal_warnings_collected

Function = TypeVar("Function", bound=Callable[..., Any])


def public_check(function: Function) -> Function:
    """Decorate a public check (``check_roundtrip``, ...): nothing written to the user's project, internal warnings counted."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        with internal_warnings_collected(), hypothesis_files_in_temporary_directory():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
