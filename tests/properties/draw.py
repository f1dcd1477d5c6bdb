"""Deterministic draws: seed ``i`` gives the same recipe on every machine and every xdist worker.

Hypothesis's first example under any seed is the simplest one (a single
``Dense``), so one value per seed would test one model over and over.  Values
are drawn instead in batches: one hypothesis run of a fixed seed per batch,
duplicates dropped, and index ``i`` picks ``i % BATCH`` of batch ``i // BATCH``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.strategies import SearchStrategy

BATCH = 50
BASE_SEED = 20261130


def drawn(strategy_factory: Callable[[], SearchStrategy[Any]], index: int, key: str = "") -> Any:
    """Value number ``index`` of the strategy made by ``strategy_factory`` (``key`` names it for the cache).

    Example:
        >>> from hypothesis import strategies as st
        >>> first = drawn(lambda: st.integers(0, 10**6), 7, key="ints")
        >>> first == drawn(lambda: st.integers(0, 10**6), 7, key="ints")
        True
    """
    batch = _batch(strategy_factory, index // BATCH, key or repr(strategy_factory))
    return batch[index % len(batch)]


_BATCHES: dict[tuple[str, int], tuple[Any, ...]] = {}


def _batch(factory: Callable[[], SearchStrategy[Any]], number: int, key: str) -> tuple[Any, ...]:
    if (key, number) in _BATCHES:
        return _BATCHES[key, number]
    values: dict[str, Any] = {}

    @settings(max_examples=2 * BATCH, database=None, deadline=None, phases=(Phase.generate,),
              suppress_health_check=list(HealthCheck))
    @given(factory())
    def capture(value: Any) -> None:
        if len(values) < BATCH:
            values.setdefault(_identity(value), value)

    hypothesis_seed(BASE_SEED + 7919 * number)(capture)()
    _BATCHES[key, number] = tuple(values.values())
    return _BATCHES[key, number]


def _identity(value: Any) -> str:
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        try:
            return to_json()
        except Exception:  # a recipe holding a non-importable factory: fall back to its repr
            pass
    return json.dumps(repr(value))
