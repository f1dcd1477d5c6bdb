"""Read a model once: its input structure, its layers, and which layers take which input.

Everything :mod:`pytest_tfroundtrip.inputs` needs from the model's graph comes from one
:class:`ModelReading`, made by :func:`read_model` in one walk of the layers.  The
functions that infer specs, value domains and shape hints then work on this data,
never on the model again (the probing calls, which need the live model, go through
a callable the check gives).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_tfroundtrip.structure import flatten_with_paths


@dataclass(frozen=True)
class ModelReading:
    """What the model's graph says about its inputs, read in one walk.

    ``structure`` is the model's input structure (Keras tensors; ``None`` for a
    subclassed model), ``layers`` every layer inside it (nested ones too, the
    model itself excluded), ``consumers`` for each input in flat order the
    layers that take it directly, ``reach`` those layers followed by the
    layers nested inside them, and ``submodels`` the functional sub-models
    among them that take all of the model's inputs, this one at the same place
    (a task model's backbone: its own input tells the domain).

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
        >>> reading = read_model(model)
        >>> [layer.name for layer in reading.consumers[0]], reading.weight_dimensions
        (['dense'], (2, 3))
    """

    model: Any = field(repr=False, compare=False)
    structure: Any
    layers: tuple[Any, ...]
    consumers: tuple[tuple[Any, ...], ...]
    reach: tuple[tuple[Any, ...], ...]
    submodels: tuple[tuple[Any, ...], ...]
    takes_a_list_of_one: bool
    weight_dimensions: tuple[int, ...]


def read_model(model: Any) -> ModelReading:
    """Walk ``model`` once and keep what its inputs' description needs.

    Example:
        >>> import keras
        >>> read_model(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])).takes_a_list_of_one
        False
    """
    structure = model_input_structure(model)
    layers = tuple(_nested_layers(model))
    flat = [tensor for _path, tensor in flatten_with_paths(structure)] if structure is not None else []
    consumers = tuple(
        tuple(layer for layer in layers for node in getattr(layer, "_inbound_nodes", [])
              if any(t is tensor for t in node_input_tensors(node)))
        for tensor in flat
    )
    reach = tuple(tuple(nested for layer in direct for nested in (layer, *_nested_layers(layer))) for direct in consumers)
    submodels = tuple(tuple(layer for layer in direct if _takes_all_inputs(layer, model, flat, index))
                      for index, direct in enumerate(consumers))
    return ModelReading(model, structure, layers, consumers, reach, submodels,
                        _takes_a_list_of_one(model, structure), _weight_dimensions(model))


def _takes_all_inputs(layer: Any, model: Any, flat: list[Any], index: int) -> bool:
    if layer is model or model_input_structure(layer) is None:
        return False
    for node in getattr(layer, "_inbound_nodes", []):
        tensors = node_input_tensors(node)
        if len(tensors) == len(flat) and tensors[index] is flat[index]:
            return True
    return False


def model_input_structure(model: Any) -> Any:
    """The structure of ``model``'s input tensors (a tensor, list or dict), or None (a subclassed model).

    Example:
        >>> import keras
        >>> model_input_structure(keras.Sequential([keras.Input((3,), name="x"), keras.layers.Dense(2)])).name
        'x'
    """
    functional = getattr(model, "_functional", None)  # Sequential wraps a Functional
    for candidate in (model, functional):
        struct = getattr(candidate, "_inputs_struct", None) if candidate is not None else None
        if struct is not None:
            return struct
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if not inputs:
        return None
    return inputs[0] if len(inputs) == 1 else list(inputs)


def node_input_tensors(node: Any) -> list[Any]:
    """A graph node's input tensors as a flat list (``tf_keras`` keeps a lone input unwrapped)."""
    value = getattr(node, "input_tensors", None)
    if value is None:
        return []
    return [leaf for _path, leaf in flatten_with_paths(value)]


def _nested_layers(model: Any) -> list[Any]:
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is None:
        return []
    return list(flatten(include_self=False, recursive=True))


def _takes_a_list_of_one(model: Any, structure: Any) -> bool:
    if structure is None:
        built = (getattr(model, "_build_shapes_dict", None) or {}).get("input_shape")
        return isinstance(built, (list, tuple)) and len(built) == 1 and isinstance(built[0], (list, tuple))
    return isinstance(structure, (list, tuple)) and len(structure) == 1


def _weight_dimensions(model: Any) -> tuple[int, ...]:
    """Every dimension of the model's weights: where an exact input length would come from."""
    return tuple(sorted({int(d) for weight in getattr(model, "weights", ()) for d in weight.shape if d is not None}))
