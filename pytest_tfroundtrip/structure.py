"""Flatten and rebuild nested dict/list/tuple structures of arrays.

Dict keys are visited in sorted order, as ``tf.nest`` does, so the flat order
matches what TensorFlow uses for signatures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any


def is_leaf(value: object) -> bool:
    return not isinstance(value, (Mapping, list, tuple))


def flatten_with_paths(structure: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Return ``(path, leaf)`` pairs; paths join keys and indices with ``/``.

    Example:
        >>> flatten_with_paths({"b": [1, 2], "a": 3})
        [('a', 3), ('b/0', 1), ('b/1', 2)]
    """
    return list(_walk(structure, prefix))


def _walk(structure: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(structure, Mapping):
        for key in sorted(structure):
            yield from _walk(structure[key], _join(prefix, str(key)))
    elif isinstance(structure, (list, tuple)):
        for index, item in enumerate(structure):
            yield from _walk(item, _join(prefix, str(index)))
    else:
        yield prefix, structure


def _join(prefix: str, part: str) -> str:
    return f"{prefix}/{part}" if prefix else part


def map_leaves(function: Callable[[Any], Any], structure: Any) -> Any:
    """Apply ``function`` to every leaf, keeping the structure.

    Example:
        >>> map_leaves(lambda x: x * 10, {"a": [1, 2]})
        {'a': [10, 20]}
    """
    if isinstance(structure, Mapping):
        return {key: map_leaves(function, value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_leaves(function, item) for item in structure)
    return function(structure)


def pack_like(template: Any, leaves: list[Any]) -> Any:
    """Rebuild ``template``'s structure from ``leaves`` in flat order.

    Example:
        >>> pack_like({"b": 0, "a": 0}, [1, 2])
        {'a': 1, 'b': 2}
    """
    remaining = iter(leaves)

    def rebuild(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {key: rebuild(node[key]) for key in sorted(node)}
        if isinstance(node, (list, tuple)):
            return type(node)(rebuild(item) for item in node)
        return next(remaining)

    return rebuild(template)


def describe_structure(structure: Any) -> str:
    """A short description such as ``dict(a, b)`` or ``list[2]`` or ``tensor``.

    Example:
        >>> describe_structure({"x": 1, "y": [1, 2]})
        'dict(x, y)'
    """
    if isinstance(structure, Mapping):
        return "dict(" + ", ".join(sorted(map(str, structure))) + ")"
    if isinstance(structure, (list, tuple)):
        return f"{type(structure).__name__}[{len(structure)}]"
    return "tensor"
