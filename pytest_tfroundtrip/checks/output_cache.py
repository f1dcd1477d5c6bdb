"""The original model's outputs per input, shared by every format's search and bounded in bytes.

Each format is searched on its own (so only one reloaded copy lives at a
time), with the same seed, so the formats meet the same inputs: the original
model runs once per input for all of them.  The cache keeps the most recently
used outputs within ``max_bytes``; an evicted input is simply recomputed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np

DEFAULT_MAX_BYTES = 256 * 2**20


class OutputCache:
    """Outputs by input key, least recently used dropped first once ``max_bytes`` is reached.

    Example:
        >>> import numpy as np
        >>> cache = OutputCache(max_bytes=100)
        >>> cache.put("a", {"y": np.zeros(10)})  # 80 bytes
        >>> cache.put("b", {"y": np.zeros(10)})  # evicts "a"
        >>> cache.get("a") is None, cache.get("b") is not None, cache.held_bytes
        (True, True, 80)
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.held_bytes = 0
        self.determinism_checked = False  # the original was called twice on one input (once per check)
        self._entries: OrderedDict[str, tuple[dict[str, np.ndarray], int]] = OrderedDict()

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def get_or_compute(self, key: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """The cached outputs for ``key``, or ``compute()``'s, cached (an exception from ``compute`` propagates)."""
        outputs = self.get(key)
        if outputs is None:
            outputs = compute()
            self.put(key, outputs)
        return outputs

    def put(self, key: str, outputs: dict[str, np.ndarray]) -> None:
        size = sum(np.asarray(value).nbytes for value in outputs.values())
        if key in self._entries:
            self.held_bytes -= self._entries.pop(key)[1]
        if size > self.max_bytes:
            return
        while self._entries and self.held_bytes + size > self.max_bytes:
            self.held_bytes -= self._entries.popitem(last=False)[1][1]
        self._entries[key] = (outputs, size)
        self.held_bytes += size

    def __len__(self) -> int:
        return len(self._entries)
