"""Input specifications: what a model takes, read from the model or given.

A :class:`ModelSignature` is the model's input structure (a single tensor, a
list or a dict) with one :class:`InputSpec` per leaf.  It comes from
``model.inputs`` for functional and Sequential models, or from an explicit
``input_signature`` (``tf.TensorSpec``, ``keras.Input``, or a nested
list/dict of them), which subclassed models need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.inputs.reading import ModelReading, read_model
from pytest_tfroundtrip.structure import (
    describe_structure,
    flatten_with_paths,
    map_leaves,
    pack_like,
)

STRING_DTYPE = "string"


@dataclass(frozen=True)
class InputSpec:
    """One model input: its name, shape (``None`` for unknown) and dtype.

    ``int_range`` (inclusive bounds) and ``vocabulary`` narrow the values that
    generated inputs take, so that they stay inside what the model accepts.
    ``role`` is ``"mask"`` for attention/padding masks (0/1 or boolean, at
    least one kept position per row).  ``max_dims`` bounds unknown dimensions
    (for example a position embedding's sequence length), per axis.

    Example:
        >>> InputSpec("pixels", (None, 784), "float32").describe()
        'pixels: shape (None, 784), float32'
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str
    int_range: tuple[int, int] | None = None
    vocabulary: tuple[Any, ...] | None = None
    free_text: bool = False
    domain_source: str | None = field(default=None, compare=False)
    role: str | None = None
    max_dims: tuple[int | None, ...] | None = None
    min_dims: tuple[int | None, ...] | None = None

    def bound_of(self, axis: int) -> int | None:
        """The largest size axis ``axis`` may take, if the model bounds it."""
        return self.max_dims[axis] if self.max_dims is not None and axis < len(self.max_dims) else None

    def floor_of(self, axis: int) -> int:
        """The smallest size axis ``axis`` may take (1 unless the model needs more, e.g. a strided stem)."""
        floor = self.min_dims[axis] if self.min_dims is not None and axis < len(self.min_dims) else None
        return floor or 1

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for JSON), rebuilt by :meth:`from_dict`.

        Example:
            >>> spec = InputSpec("ids", (None, None), "int32", int_range=(0, 9), max_dims=(None, 32))
            >>> InputSpec.from_dict(spec.as_dict()) == spec
            True
        """
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype,
                "int_range": list(self.int_range) if self.int_range is not None else None,
                "vocabulary": list(self.vocabulary) if self.vocabulary is not None else None,
                "free_text": self.free_text, "domain_source": self.domain_source, "role": self.role,
                "max_dims": list(self.max_dims) if self.max_dims is not None else None,
                "min_dims": list(self.min_dims) if self.min_dims is not None else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputSpec:
        def as_tuple(value: Any) -> Any:
            return tuple(value) if value is not None else None

        return cls(data["name"], tuple(data["shape"]), data["dtype"], as_tuple(data.get("int_range")),
                   as_tuple(data.get("vocabulary")), bool(data.get("free_text")), data.get("domain_source"),
                   data.get("role"), as_tuple(data.get("max_dims")), as_tuple(data.get("min_dims")))

    def describe(self) -> str:
        text = f"{self.name}: shape {_shape_text(self.shape)}, {self.dtype}"
        if self.int_range is not None:
            text += f", values in [{self.int_range[0]}, {self.int_range[1]}]"
        if self.vocabulary is not None:
            text += f", vocabulary of {len(self.vocabulary)}"
        if self.role == "mask":
            text += ", a padding mask (0/1, a kept prefix then padding)"
        bounded = [f"axis {axis} at least {floor}" for axis, floor in enumerate(self.min_dims or ())
                   if floor is not None and floor > 1 and floor != self.bound_of(axis)]
        bounded += [f"axis {axis} exactly {bound}" if bound == self.floor_of(axis) else f"axis {axis} at most {bound}"
                    for axis, bound in enumerate(self.max_dims or ()) if bound is not None]
        if bounded:
            text += ", " + ", ".join(bounded)
        if self.domain_source:
            text += f" (from {self.domain_source})"
        return text


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


@dataclass(frozen=True)
class ModelSignature:
    """The input structure of a model with one :class:`InputSpec` per leaf.

    ``template`` has the model's input structure with the spec names at the
    leaves; ``specs`` lists the specs in flat (sorted-key) order.
    """

    template: Any
    specs: tuple[InputSpec, ...]

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.specs]

    @property
    def padding_masks(self) -> tuple[str, ...]:
        """The inputs that are padding/attention masks (their zeros mark padding)."""
        return tuple(spec.name for spec in self.specs if spec.role == "mask")

    def pack(self, arrays_by_name: Mapping[str, Any]) -> Any:
        """Arrange arrays (keyed by input name) in the model's input structure."""
        return pack_like(self.template, [arrays_by_name[name] for name in self.names])

    def by_name(self, value: Any, what: str = "inputs") -> dict[str, Any]:
        """The leaves of ``value`` keyed by input name, if it has the model's input structure.

        Example:
            >>> signature = ModelSignature({"a": "a", "b": "b"}, (InputSpec("a", (None,), "int32"), InputSpec("b", (None,), "int32")))
            >>> signature.by_name({"b": 2, "a": 1})
            {'a': 1, 'b': 2}
        """
        names = self.names
        given = flatten_with_paths(value)
        if len(given) != len(names) or isinstance(self.template, Mapping) != isinstance(value, Mapping):
            raise RoundTripUsageError(
                f"{what} must match the model's inputs, {describe_structure(self.template)} {names}; got {describe_structure(value)}"
            )
        if isinstance(value, Mapping):
            missing = sorted(set(names) - {path for path, _leaf in given})
            if missing:
                raise RoundTripUsageError(f"{what} are missing {missing}; the model takes {names}")
            return dict(given)
        return {name: leaf for name, (_path, leaf) in zip(names, given)}

    def with_specs(self, specs: list[InputSpec]) -> ModelSignature:
        return replace(self, specs=tuple(specs))

    def describe(self) -> str:
        return "; ".join(spec.describe() for spec in self.specs)


def signature_from_model(model: Any, input_signature: Any = None) -> ModelSignature:
    """Read the input signature of ``model``, or normalise ``input_signature``.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> signature_from_model(model).specs[0].shape
        (None, 3)
    """
    return signature_of(read_model(model), input_signature)


def signature_of(reading: ModelReading, input_signature: Any = None) -> ModelSignature:
    """The input signature a model's reading tells, or ``input_signature`` normalised for that model.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> signature_of(read_model(model)).specs[0].dtype
        'float32'
    """
    if input_signature is not None:
        return _signature_from_user(_unwrapped(reading, input_signature))
    if reading.structure is None:
        model = reading.model
        raise RoundTripUsageError(
            f"cannot tell what {type(model).__name__} {getattr(model, 'name', '')!r} takes as input: "
            "it has no `model.inputs` (subclassed models have none). "
            "Pass input_signature=, for example "
            "input_signature=tf.TensorSpec(shape=(None, 784), dtype=tf.float32)."
        )
    return signature_from_structure(reading.structure, source="model.inputs")


def specs_of_data(data: Any) -> Any:
    """``tf.TensorSpec`` leaves (batch dimension unknown) in the structure of training data ``x``.

    What a subclassed model takes is told exactly by the data it trains on.

    Example:
        >>> import numpy as np
        >>> specs_of_data({"a": np.zeros((8, 3), "float32")})
        {'a': TensorSpec(shape=(None, 3), dtype=tf.float32, name=None)}
    """
    import numpy as np

    from pytest_tfroundtrip import _lazy

    tf = _lazy.tensorflow()

    def spec(leaf: Any) -> Any:
        array = np.asarray(leaf)
        if array.ndim == 0:
            raise RoundTripUsageError(f"x holds a scalar ({array!r}); give arrays with a batch dimension first")
        dtype = tf.string if array.dtype.kind in "OUS" else tf.as_dtype(array.dtype)
        return tf.TensorSpec((None, *array.shape[1:]), dtype)

    return map_leaves(spec, data)


def as_model_input(model: Any, input_signature: Any) -> Any:
    """Read a one-element list the way TensorFlow does: the list of positional arguments.

    ``tf.function(input_signature=[spec])`` and ``model.export(input_signature=[spec])``
    mean "one argument, ``spec``".  A Keras model takes one argument, so
    ``[spec]`` is unwrapped to ``spec``, and ``[[a, b]]``/``[{...}]`` to their
    structure, unless the model was built on (or its ``model.inputs`` are) a
    list of one tensor.  Longer lists keep meaning a list-input model.

    Example:
        >>> import keras, tensorflow as tf
        >>> model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)])
        >>> as_model_input(model, [tf.TensorSpec((None, 5))])
        TensorSpec(shape=(None, 5), dtype=tf.float32, name=None)
    """
    return _unwrapped(read_model(model), input_signature)


def _unwrapped(reading: ModelReading, input_signature: Any) -> Any:
    if not isinstance(input_signature, (list, tuple)) or len(input_signature) != 1:
        return input_signature
    (only,) = input_signature
    if isinstance(only, (list, tuple, Mapping)):
        return only
    return input_signature if reading.takes_a_list_of_one else only


def _signature_from_user(input_signature: Any) -> ModelSignature:
    if isinstance(input_signature, (Mapping, list, tuple)) and not input_signature:
        raise RoundTripUsageError("input_signature is empty; give at least one tf.TensorSpec or keras.Input")
    _reject_bare_shapes(input_signature, "input_signature")
    return signature_from_structure(input_signature, source="input_signature")


def signature_from_structure(structure: Any, source: str) -> ModelSignature:
    leaves = flatten_with_paths(structure)
    single = len(leaves) == 1 and leaves[0][0] == ""
    specs: list[InputSpec] = []
    used_names: set[str] = set()
    for index, (path, leaf) in enumerate(leaves):
        shape, dtype, leaf_name = _spec_fields(leaf, source, path or "input")
        if isinstance(structure, Mapping) or (path and not path.isdigit()):
            name = path
        elif leaf_name and not leaf_name.startswith("keras_tensor") and leaf_name not in used_names:
            name = leaf_name
        else:
            name = "input" if single else f"input_{index}"
        used_names.add(name)
        specs.append(InputSpec(name=name, shape=shape, dtype=dtype))
    if len({spec.name for spec in specs}) != len(specs):
        raise RoundTripUsageError(f"{source} has inputs with the same name: {[s.name for s in specs]}")
    template = specs[0].name if single else pack_like(structure, [spec.name for spec in specs])
    return ModelSignature(template=template, specs=tuple(specs))


def _reject_bare_shapes(structure: Any, where: str) -> None:
    if isinstance(structure, Mapping):
        for key, value in structure.items():
            _reject_bare_shapes(value, f"{where}[{key!r}]")
    elif isinstance(structure, (list, tuple)):
        if structure and all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in structure):
            raise RoundTripUsageError(
                f"{where} is {tuple(structure)!r}, which looks like a shape; give a spec with a dtype, "
                f"e.g. tf.TensorSpec(shape={tuple(structure)!r}, dtype=tf.float32) or keras.Input(shape={tuple(structure)[1:]!r})"
            )
        for index, value in enumerate(structure):
            _reject_bare_shapes(value, f"{where}[{index}]")


def _spec_fields(leaf: Any, source: str, where: str) -> tuple[tuple[int | None, ...], str, str | None]:
    shape = getattr(leaf, "shape", None)
    dtype = getattr(leaf, "dtype", None)
    if shape is None or dtype is None or isinstance(leaf, (str, bytes, int, float)):
        raise RoundTripUsageError(
            f"{source} entry {where!r} must be a tf.TensorSpec or keras.Input, "
            f"got {type(leaf).__name__}: {leaf!r}"
        )
    try:
        dims = tuple(None if d is None else int(d) for d in _as_dim_list(shape))
    except (TypeError, ValueError) as error:
        raise RoundTripUsageError(f"{source} entry {where!r} has an unknown rank ({shape!r}); give a full shape") from error
    if not dims:
        raise RoundTripUsageError(f"{source} entry {where!r} is a scalar; give a shape with a batch dimension, e.g. (None,)")
    return dims, normalise_dtype(dtype), getattr(leaf, "name", None)


def _as_dim_list(shape: Any) -> list[Any]:
    as_list = getattr(shape, "as_list", None)
    return as_list() if callable(as_list) else list(shape)


def normalise_dtype(dtype: Any) -> str:
    """A dtype as a plain name: ``float32``, ``int64``, ``bool``, ``string``.

    Example:
        >>> normalise_dtype("float32")
        'float32'
    """
    name = getattr(dtype, "name", None) or str(dtype)
    name = name.replace("tf.", "")
    if name in ("string", "str", "object", "bytes", "<U0"):
        return STRING_DTYPE
    return name
