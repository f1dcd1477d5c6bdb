"""Keep hypothesis's own files out of the user's project while our checks draw inputs.

Hypothesis caches the constants it finds in loaded modules under
``.hypothesis/constants/`` in the working directory, even with no database.
Our checks draw inputs with hypothesis, so a check run in a fresh project left
that directory behind.  During a check, hypothesis's home directory points to
a temporary directory of this process (removed at exit); the user's setting
(or hypothesis's default) is restored afterwards, so the user's own
hypothesis tests write where they always did.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

_HOME_VARIABLE = "__hypothesis_home_directory"  # hypothesis.configuration's module global
_private_home: Path | None = None
Function = TypeVar("Function", bound=Callable[..., Any])


def _home() -> Path:
    global _private_home
    if _private_home is None:
        _private_home = Path(tempfile.mkdtemp(prefix="tf-roundtrip-hypothesis-"))
        atexit.register(shutil.rmtree, _private_home, True)
    return _private_home


@contextmanager
def hypothesis_files_in_temporary_directory() -> Iterator[Path | None]:
    """Point hypothesis's storage at this process's temporary directory, then restore it.

    Yields the directory used (None if this hypothesis version keeps its home
    elsewhere: then nothing is redirected, and the test of this module fails).

    Example:
        >>> from hypothesis.configuration import storage_directory
        >>> with hypothesis_files_in_temporary_directory() as home:
        ...     storage_directory("constants").path.parent == home
        True
    """
    from hypothesis import configuration

    state = vars(configuration)
    if _HOME_VARIABLE not in state:
        yield None
        return
    previous = state[_HOME_VARIABLE]
    home = _home()
    configuration.set_hypothesis_home_dir(home)
    try:
        yield home
    finally:
        configuration.set_hypothesis_home_dir(previous)
