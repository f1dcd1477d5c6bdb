"""Recipes: pure, frozen, JSON-serializable descriptions of generated models.

A hypothesis strategy draws a :class:`ModelRecipe`; ``build_model(recipe)``
(:mod:`.building`) makes the Keras model.  The recipe is plain data, so it can
be printed, shrunk, written as JSON and rebuilt in another process.  This
module is the bottom of :mod:`pytest_tfroundtrip.generators`: it imports
neither Keras nor TensorFlow nor any module above it; building lives in
:mod:`.building`, sample inputs and targets in :mod:`.data`.

Example:
    >>> recipe = ModelRecipe(
    ...     kind="sequential",
    ...     inputs=(InputRecipe("x", (3,), "float32"),),
    ...     nodes=(NodeRecipe(LayerRecipe("Dense", (("units", 2),)), (0,)),),
    ...     outputs=(1,),
    ... )
    >>> ModelRecipe.from_json(recipe.to_json()) == recipe
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

JSONValue = Any
KINDS = ("sequential", "functional", "subclassed")
STRUCTURES = ("single", "list", "dict")
CALLS = ("single", "list", "args")


def freeze(value: JSONValue) -> JSONValue:
    """Make a JSON value comparable after a JSON round trip: lists become tuples.

    >>> freeze({"a": [1, [2, 3]]})
    {'a': (1, (2, 3))}
    """
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return {str(k): freeze(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        raise ValueError("NaN is not allowed in a recipe")
    return value


def thaw(value: JSONValue) -> JSONValue:
    """The JSON form of a frozen value: tuples become lists.

    >>> thaw({"a": (1, (2, 3))})
    {'a': [1, [2, 3]]}
    """
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class InputRecipe:
    """One model input: shape without the batch axis (``None`` allowed).

    ``low``/``high`` bound integer values (``high`` exclusive); ``vocabulary``
    lists the strings a string input takes.

    >>> InputRecipe("ids", (None,), "int32", low=0, high=5).shape
    (None,)
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str
    sparse: bool = False
    low: float | None = None
    high: float | None = None
    vocabulary: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(self.shape))
        object.__setattr__(self, "vocabulary", tuple(self.vocabulary))


@dataclass(frozen=True)
class LayerRecipe:
    """A layer: a ``keras.layers`` class name (or a generator-internal one) and kwargs.

    Kwarg values are JSON values; ``{"__layer__": {...}}`` stands for a nested
    layer (the inner layer of a wrapper, an RNN cell).

    >>> LayerRecipe("Dense", (("units", 4),)).kwargs_dict()
    {'units': 4}
    """

    class_name: str
    kwargs: tuple[tuple[str, JSONValue], ...] = ()
    frozen: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kwargs", tuple((str(k), freeze(v)) for k, v in self.kwargs))

    def kwargs_dict(self) -> dict[str, JSONValue]:
        """The kwargs as a dict (frozen values)."""
        return dict(self.kwargs)

    def to_dict(self) -> dict[str, JSONValue]:
        """JSON form: ``{"class_name", "kwargs", "frozen"}``."""
        return {"class_name": self.class_name, "kwargs": {k: thaw(v) for k, v in self.kwargs}, "frozen": self.frozen}

    @classmethod
    def from_dict(cls, data: dict[str, JSONValue]) -> LayerRecipe:
        """Inverse of :meth:`to_dict`."""
        return cls(data["class_name"], tuple(data.get("kwargs", {}).items()), bool(data.get("frozen", False)))

    @classmethod
    def nested(cls, class_name: str, **kwargs: JSONValue) -> dict[str, JSONValue]:
        """The kwarg value standing for a nested layer.

        >>> LayerRecipe.nested("LSTM", units=2)
        {'__layer__': {'class_name': 'LSTM', 'kwargs': {'units': 2}, 'frozen': False}}
        """
        return {"__layer__": cls(class_name, tuple(kwargs.items())).to_dict()}


@dataclass(frozen=True)
class NodeRecipe:
    """One layer call in the graph.

    ``layer`` is a new layer, or the node id of an earlier node whose layer is
    applied again (a shared layer).  Node ids: input ``i`` is node ``i``;
    ``nodes[j]`` is node ``len(inputs) + j``.  ``call`` says how several inputs
    are passed: ``"single"`` (one tensor), ``"list"`` (``layer([a, b])``),
    ``"args"`` (``layer(a, b)``).

    >>> NodeRecipe(LayerRecipe("Add"), (0, 1), call="list").inputs
    (0, 1)
    """

    layer: LayerRecipe | int
    inputs: tuple[int, ...]
    call: str = "single"

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        if self.call not in CALLS:
            raise ValueError(f"call must be one of {CALLS}, got {self.call!r}")


@dataclass(frozen=True)
class CompileRecipe:
    """How the model is compiled: optimizer, one loss per output, metrics.

    ``losses[i]`` is a loss name (``"mse"``) or ``{"class_name", "config"}``
    for a ``keras.losses`` object; ``targets[i]`` says what the training
    targets of output ``i`` look like (see :mod:`.training`).

    >>> CompileRecipe("adam", losses=("mse",), targets=("regression",)).optimizer
    'adam'
    """

    optimizer: str
    optimizer_kwargs: tuple[tuple[str, JSONValue], ...] = ()
    losses: tuple[JSONValue, ...] = ()
    targets: tuple[str, ...] = ()
    metrics: tuple[tuple[str, ...], ...] = ()
    loss_scale: bool = False
    custom_train_step: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "optimizer_kwargs", tuple((str(k), freeze(v)) for k, v in self.optimizer_kwargs))
        object.__setattr__(self, "losses", freeze(tuple(self.losses)))
        object.__setattr__(self, "targets", tuple(self.targets))
        object.__setattr__(self, "metrics", freeze(tuple(self.metrics)))


@dataclass(frozen=True)
class ModelRecipe:
    """A whole generated model.

    ``outputs`` are node ids; ``input_structure``/``output_structure`` say
    whether the model takes/returns one tensor, a list or a dict keyed by
    input name / ``out_<i>``.  ``dtype_policy`` is applied per layer.

    >>> r = ModelRecipe("functional", (InputRecipe("a", (2,), "float32"),), (), (0,))
    >>> r.node_count
    1
    """

    kind: str
    inputs: tuple[InputRecipe, ...]
    nodes: tuple[NodeRecipe, ...]
    outputs: tuple[int, ...]
    output_structure: str = "single"
    input_structure: str = "single"
    dtype_policy: str | None = None
    compile: CompileRecipe | None = None
    train_steps: int = 0
    seed: int = 0
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for name in ("inputs", "nodes", "outputs", "notes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.output_structure not in STRUCTURES or self.input_structure not in STRUCTURES:
            raise ValueError(f"structures must be among {STRUCTURES}")
        for j, node in enumerate(self.nodes):
            own = len(self.inputs) + j
            if any(not 0 <= i < own for i in node.inputs) or (isinstance(node.layer, int) and not
                                                                  len(self.inputs) <= node.layer < own):
                raise ValueError(f"node {own} refers to a node that does not come before it")
        if any(not 0 <= o < self.node_count for o in self.outputs):
            raise ValueError("an output refers to a missing node")

    @property
    def node_count(self) -> int:
        """Inputs plus layer calls."""
        return len(self.inputs) + len(self.nodes)

    def output_names(self) -> list[str]:
        """Names of the outputs in a dict-output model (``out_0``, ...)."""
        return [f"out_{i}" for i in range(len(self.outputs))]

    def layer_classes(self) -> list[str]:
        """Every layer class the recipe builds, nested ones included.

        >>> ModelRecipe("functional", (InputRecipe("a", (2,), "float32"),),
        ...             (NodeRecipe(LayerRecipe("Dense", (("units", 1),)), (0,)),), (1,)).layer_classes()
        ['Dense']
        """
        found: list[str] = []

        def visit(value: JSONValue) -> None:
            if isinstance(value, dict):
                if "class_name" in value and "kwargs" in value:
                    found.append(value["class_name"])
                for v in value.values():
                    visit(v)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    visit(v)

        for node in self.nodes:
            if isinstance(node.layer, LayerRecipe):
                found.append(node.layer.class_name)
                visit(node.layer.kwargs_dict())
        return found

    # --- serialization ---------------------------------------------------
    def to_dict(self) -> dict[str, JSONValue]:
        """JSON-ready dict (raises for a layer factory that is not importable)."""
        from pytest_tfroundtrip.generators.factories import ensure_portable

        ensure_portable(self)
        return {
            "kind": self.kind,
            "inputs": [thaw({f.name: getattr(i, f.name) for f in fields(i)}) for i in self.inputs],
            "nodes": [{"layer": n.layer if isinstance(n.layer, int) else n.layer.to_dict(),
                       "inputs": list(n.inputs), "call": n.call} for n in self.nodes],
            "outputs": list(self.outputs),
            "output_structure": self.output_structure,
            "input_structure": self.input_structure,
            "dtype_policy": self.dtype_policy,
            "compile": None if self.compile is None else thaw(
                {f.name: getattr(self.compile, f.name) for f in fields(self.compile)}),
            "train_steps": self.train_steps,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, JSONValue]) -> ModelRecipe:
        """Inverse of :meth:`to_dict`."""
        compile_data = data.get("compile")
        return cls(
            kind=data["kind"],
            inputs=tuple(InputRecipe(**i) for i in data["inputs"]),
            nodes=tuple(NodeRecipe(n["layer"] if isinstance(n["layer"], int) else LayerRecipe.from_dict(n["layer"]),
                                   tuple(n["inputs"]), n.get("call", "single")) for n in data["nodes"]),
            outputs=tuple(data["outputs"]),
            output_structure=data.get("output_structure", "single"),
            input_structure=data.get("input_structure", "single"),
            dtype_policy=data.get("dtype_policy"),
            compile=None if compile_data is None else CompileRecipe(**compile_data),
            train_steps=int(data.get("train_steps", 0)),
            seed=int(data.get("seed", 0)),
        )

    def to_json(self) -> str:
        """The recipe as JSON text; :meth:`from_json` reads it back."""
        return json.dumps(self.to_dict(), sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> ModelRecipe:
        """Read a recipe written by :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def to_code(self) -> str:
        """Python source that rebuilds this model as ``model`` (for a regression test).

        >>> r = ModelRecipe("functional", (InputRecipe("a", (2,), "float32"),), (), (0,))
        >>> namespace = {}
        >>> exec(r.to_code().replace("model = build_model(recipe)", ""), namespace)
        >>> namespace["recipe"] == r
        True
        """
        self.to_dict()  # same portability rule as JSON
        return (
            "from pytest_tfroundtrip.strategies import (\n"
            "    CompileRecipe, InputRecipe, LayerRecipe, ModelRecipe, NodeRecipe, build_model,\n)\n\n"
            f"recipe = {self!r}\n"
            "model = build_model(recipe)\n"
        )


def structure_inputs(recipe: ModelRecipe, tensors: list[Any]) -> Any:
    """Arrange input tensors as the model takes them."""
    if recipe.input_structure == "dict":
        return {i.name: t for i, t in zip(recipe.inputs, tensors)}
    return list(tensors) if recipe.input_structure == "list" else tensors[0]


def structure_outputs(recipe: ModelRecipe, tensors: list[Any]) -> Any:
    """Arrange output tensors as the model returns them."""
    if recipe.output_structure == "dict":
        return dict(zip(recipe.output_names(), tensors))
    return list(tensors) if recipe.output_structure == "list" else tensors[0]
