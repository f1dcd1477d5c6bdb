"""Compare every weight of a reloaded Keras model with the original, by path.

Outputs can agree on the inputs tried while a weight did not survive (a layer
a mask switches off, a branch those inputs never reach), and when outputs do
differ the user needs to know *which* weights are at fault.  Weights are
matched by path when both models name them the same way, else by position
(a model rebuilt in code may number auto-named layers differently).

Values are read one weight at a time (anything with ``.shape`` that NumPy can
convert), so comparing two models of N bytes of weights holds two weights at a
time, never two more copies of the model; a model's initial values are kept
as digests for the same reason.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_tfroundtrip.inputs.values import is_float_array

MAX_NAMED = 5


@dataclass(frozen=True)
class WeightDifference:
    """How the reloaded model's weights differ from the original's.

    Example:
        >>> diff = WeightDifference(38, "tf.train.Checkpoint", not_restored=("encoder/block_1/query/kernel",))
        >>> print(diff.describe()[0])
        1 of 38 weights were not restored by tf.train.Checkpoint (still at their initial values), e.g. 'encoder/block_1/query/kernel'
    """

    total: int
    restored_by: str
    not_restored: tuple[str, ...] = ()
    differing: tuple[tuple[str, float], ...] = ()
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.not_restored or self.differing or self.missing or self.unexpected)

    @property
    def problem_paths(self) -> tuple[str, ...]:
        return self.not_restored + tuple(path for path, _error in self.differing) + self.missing

    def describe(self) -> list[str]:
        lines = []
        if self.not_restored:
            lines.append(f"{len(self.not_restored)} of {self.total} weights were not restored by {self.restored_by} "
                         f"(still at their initial values), e.g. {_some(self.not_restored)}")
        if self.differing:
            worst = max(self.differing, key=lambda item: item[1])
            lines.append(f"{len(self.differing)} of {self.total} weights differ after {self.restored_by}, e.g. "
                         f"{_some([path for path, _ in self.differing])}; largest difference {worst[1]:.3g} in {worst[0]!r}")
        if self.missing:
            lines.append(f"{len(self.missing)} of {self.total} weights of the original are missing after {self.restored_by}, "
                         f"e.g. {_some(self.missing)}")
        if self.unexpected:
            lines.append(f"the reloaded model has {len(self.unexpected)} weights the original does not, e.g. {_some(self.unexpected)}")
        return lines


def _some(paths: Sequence[str]) -> str:
    shown = ", ".join(repr(p) for p in paths[:MAX_NAMED])
    return shown + (f" (and {len(paths) - MAX_NAMED} more)" if len(paths) > MAX_NAMED else "")


def value_digest(value: Any) -> str:
    """A short fingerprint of an array's dtype, shape and bytes: equal values, equal digests.

    A CRC, not a cryptographic hash: it only tells "still at its initial
    value" from "differs" for a weight already known to differ, and runs at
    several GB/s on large weights.

    Example:
        >>> import numpy as np
        >>> value_digest(np.zeros(3)) == value_digest(np.zeros(3)), value_digest(np.zeros(3)) == value_digest(np.ones(3))
        (True, False)
        >>> import ml_dtypes  # a dtype NumPy knows only by extension
        >>> value_digest(np.ones(2, ml_dtypes.bfloat16))[:8]
        '<V2(2,):'

    """
    array = np.ascontiguousarray(np.asarray(value))
    # The raw bytes as uint8 (memoryview cannot take dtypes NumPy only knows by extension: bfloat16).
    content = array.reshape(-1).view(np.uint8) if array.dtype.kind != "O" else repr(array.tolist()).encode()
    return f"{array.dtype.str}{array.shape}:{zlib.crc32(content):08x}"


def compare_weights(
    original: Sequence[tuple[str, Any]],
    reloaded: Sequence[tuple[str, Any]],
    restored_by: str,
    initial: Sequence[str] | None = None,
    close: Callable[[np.ndarray, np.ndarray], bool] | None = None,
) -> WeightDifference:
    """Match ``(path, value)`` lists of two models and name every weight that did not survive.

    ``close``: a pair it accepts survived (default: equal values, NaN equal to NaN).

    Values are arrays or anything with ``.shape`` that ``numpy.asarray``
    converts (a Keras variable); each is read when its pair is compared.  A
    reloaded value with a ``digest`` (:func:`value_digest`) is read only if
    the original's digest differs.
    ``initial``: digests (:func:`value_digest`) of the reloaded model's values
    before the restore, same order as ``reloaded``; a differing weight still
    at its initial value was not restored at all.

    Example:
        >>> import numpy as np
        >>> a = [("d/kernel", np.ones(2)), ("d/bias", np.zeros(2))]
        >>> b = [("d/kernel", np.full(2, 7.0)), ("d/bias", np.zeros(2))]
        >>> before = [value_digest(np.full(2, 7.0)), value_digest(np.zeros(2))]
        >>> compare_weights(a, b, "load_weights", initial=before).not_restored
        ('d/kernel',)
    """
    pairs, missing, unexpected = _match(original, reloaded)
    not_restored, differing = [], []
    for path, want_value, index in pairs:
        got_shape = tuple(reloaded[index][1].shape)
        if tuple(want_value.shape) != got_shape:
            differing.append((f"{path} (shape {got_shape} instead of {tuple(want_value.shape)})", float("inf")))
            continue
        got_value = reloaded[index][1]
        digest = getattr(got_value, "digest", None)  # a weight held elsewhere: fetched only if it differs
        if digest is not None and value_digest(want_value) == digest:
            continue
        want, got = np.asarray(want_value), np.asarray(got_value)
        if (close(want, got) if close is not None else _same(want, got)):
            continue
        if initial is not None and index < len(initial) and (digest or value_digest(got)) == initial[index]:
            not_restored.append(path)
        else:
            differing.append((path, _max_abs(want, got)))
    return WeightDifference(len(original), restored_by, tuple(not_restored), tuple(differing), tuple(missing), tuple(unexpected))


def _match(
    original: Sequence[tuple[str, Any]], reloaded: Sequence[tuple[str, Any]],
) -> tuple[list[tuple[str, Any, int]], list[str], list[str]]:
    """(original path, original value, index in reloaded) pairs, and the unmatched paths on each side.

    Pairs every weight by one common form of the paths when one exists (the same paths; without the model's
    name; Keras's layer counters ranked), else by path wherever paths agree, then the rest by a common form
    (or one path ending with the other), and only then by position:
    position pairs weights created in another order (hash order) wrongly.
    """
    original_paths = [path for path, _ in original]
    reloaded_index = {path: i for i, (path, _) in enumerate(reloaded)}
    unique = len(set(original_paths)) == len(original_paths) and len(reloaded_index) == len(reloaded)
    if not unique:
        if len(original) == len(reloaded) and _same_shapes(original, reloaded, range(len(reloaded))):
            return [(path, value, i) for i, (path, value) in enumerate(original)], [], []
        return [], [f"{len(original)} weights (the reloaded model has {len(reloaded)}, in another order)"], []
    whole = _pair_all_by_one_form(original_paths, list(reloaded_index), reloaded_index) \
        if set(original_paths) != set(reloaded_index) else None
    if whole is not None and _same_shapes(original, reloaded, [whole[path] for path in original_paths]):
        # Paths that agree only in part may agree by accident: a worker that reloaded models before numbers its
        # layers on ('dense_1', 'dense_2' for the original's 'dense', 'dense_1'), and pairing the shared 'dense_1'
        # pairs the original's second layer with the reloaded first (property seed 6 under JAX).
        return [(path, value, whole[path]) for path, value in original], [], []
    paired = {path: reloaded_index[path] for path in original_paths if path in reloaded_index}
    rest = [path for path in original_paths if path not in paired]
    taken = set(paired.values())
    free = [path for path in reloaded_index if reloaded_index[path] not in taken]
    if rest and free:
        paired.update(_pair_by_form(rest, free, reloaded_index))
        rest = [path for path in rest if path not in paired]
        taken = set(paired.values())
        free = [path for path in free if reloaded_index[path] not in taken]
    values = dict(original)
    if rest and len(rest) == len(free) and _same_shapes([(p, values[p]) for p in rest], reloaded, [reloaded_index[f] for f in free]):
        paired.update({path: reloaded_index[got] for path, got in zip(rest, free)})
        rest, free = [], []
    return [(path, value, paired[path]) for path, value in original if path in paired], rest, free


def _pair_all_by_one_form(rest: list[str], free: list[str], reloaded_index: dict[str, int]) -> dict[str, int] | None:
    """Every original path paired to the reloaded one of the same form (:func:`_path_forms`), or None."""
    for want in _path_forms(rest):
        for got in _path_forms(free):
            if len(set(want)) == len(want) == len(set(got)) == len(got) and set(want) == set(got):
                index = {key: reloaded_index[path] for key, path in zip(got, free)}
                return {path: index[key] for path, key in zip(rest, want)}
    return None


def _pair_by_form(rest: list[str], free: list[str], reloaded_index: dict[str, int]) -> dict[str, int]:
    """Original paths paired to reloaded ones that share a form: all of them by one form, else one by one by suffix."""
    whole = _pair_all_by_one_form(rest, free, reloaded_index)
    if whole is not None:
        return whole
    pairs = {}
    for path in rest:  # a layer named inside its wrapper on one side only ('wrapper/dense/kernel', 'dense/kernel')
        matches = [got for got in free if path.endswith("/" + got) or got.endswith("/" + path)]
        if len(matches) == 1 and sum(1 for other in rest if other.endswith("/" + matches[0]) or matches[0].endswith("/" + other)) == 1:
            pairs[path] = reloaded_index[matches[0]]
    return pairs


def _same_shapes(original: Sequence[tuple[str, Any]], reloaded: Sequence[tuple[str, Any]], indices: Any) -> bool:
    return all(tuple(value.shape) == tuple(reloaded[i][1].shape) for (_, value), i in zip(original, indices))


def _path_forms(paths: list[str]) -> list[list[str]]:
    """The paths as they are, without the model's name, and with Keras's name counters replaced by their rank."""
    rootless = _without_common_root(paths)
    return [paths, rootless, _by_name_rank(paths), _by_name_rank(rootless)]


def _by_name_rank(paths: list[str]) -> list[str]:
    """Each layer name's counter (``dense_99``) replaced by its rank among the layers of that name, in path order.

    Another interpreter numbers layers from another count (``dense_99`` here, ``dense_100`` there), while the
    order of layers stays: ranks pair them, where positions would pair weights created in hash order wrongly.

    Example:
        >>> _by_name_rank(["terms_123/tanh", "terms_123/shift", "dense_99/kernel", "dense/kernel"])
        ['terms#0/tanh', 'terms#0/shift', 'dense#0/kernel', 'dense#1/kernel']
    """
    ranks: dict[str, dict[str, int]] = {}
    ranked = []
    for path in paths:
        *layers, weight = path.split("/")
        named = []
        for layer in layers:
            base = re.sub(r"_\d+$", "", layer)
            seen = ranks.setdefault(base, {})
            named.append(f"{base}#{seen.setdefault(layer, len(seen))}")
        ranked.append("/".join([*named, weight]))
    return ranked


def _without_common_root(paths: list[str]) -> list[str]:
    """The paths without their first name, when every one starts with the same name (the model's).

    Example:
        >>> _without_common_root(["sequential_3/dense/kernel", "sequential_3/dense/bias"])
        ['dense/kernel', 'dense/bias']
        >>> _without_common_root(["dense/kernel", "dense_1/kernel"])
        ['dense/kernel', 'dense_1/kernel']
    """
    roots = {path.split("/", 1)[0] for path in paths}
    if len(roots) != 1 or not all("/" in path for path in paths):
        return paths
    return [path.split("/", 1)[1] for path in paths]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    # Plain equality is one fast pass; equal_nan (40x slower on large weights) only when that fails.
    return bool(np.array_equal(a, b)) or (is_float_array(a) and bool(np.array_equal(a, b, equal_nan=True)))


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    if a.dtype.kind not in "biufc":
        return float("nan")
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0))
