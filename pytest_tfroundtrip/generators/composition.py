"""Strategies composing catalogue layers into sequential, functional and subclassed recipes.

Every layer is tried on symbolic Keras tensors while the recipe is drawn, so
shapes and dtypes are exact and a combination Keras rejects is never kept.

Example:
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=2, deadline=None, database=None)
    ... @given(graph_recipes("sequential", 2, None, False, False, None))
    ... def check(recipe):
    ...     assert recipe.kind == "sequential" and len(recipe.nodes) >= 1
    >>> check()
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from pytest_tfroundtrip.generators import inputs as input_draws
from pytest_tfroundtrip.generators.data import sample_input
from pytest_tfroundtrip.generators.factories import FACTORY_CLASS, factory_reference, probe_factory
from pytest_tfroundtrip.generators.graph import BLOCK_CLASS, SUBMODEL_CLASS, _call, instantiate
from pytest_tfroundtrip.generators.layer_catalogue import CATALOGUE, LayerEntry, Slot, entries_for, pair_compatible
from pytest_tfroundtrip.generators.recipes import InputRecipe, LayerRecipe, ModelRecipe, NodeRecipe
from pytest_tfroundtrip.generators.training import compile_recipes, loss_entries

MAX_ELEMENTS = 512  # per sample, for any intermediate tensor
SHAPE_KEEPING = ("Identity", "Activation", "LayerNormalization", "Dropout", "GaussianNoise", "UnitNormalization")
BLOCKABLE = ("Dense", "Activation", "LayerNormalization", "Dropout", "BatchNormalization", "ReLU", "Conv1D", "Conv2D",
             "GaussianNoise", "UnitNormalization", "RMSNormalization", "LSTM", "GRU", "MaxPooling2D", "Softmax")


@dataclass
class Draft:
    """A recipe being drawn, with the symbolic tensor and slot of every node."""

    policy: str | None
    inputs: list[InputRecipe] = field(default_factory=list)
    nodes: list[NodeRecipe] = field(default_factory=list)
    tensors: list[Any] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    layers: dict[int, Any] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)

    def add_input(self, spec: InputRecipe) -> int:
        self.inputs.append(spec)
        self.tensors.append(keras.Input(shape=spec.shape, dtype=spec.dtype, sparse=spec.sparse, name=spec.name))
        family = spec.dtype if spec.dtype in ("string", "bool") else "float" if "float" in spec.dtype else "int"
        bound = int(spec.high) if family == "int" and spec.high is not None else None
        self.slots.append(Slot(self.tensors[-1].shape, family, bound, spec.vocabulary, spec.dtype))
        return len(self.tensors) - 1

    def apply(self, layer: LayerRecipe | int, operands: list[int], call: str = "single", bound: int | None = None) -> int | None:
        """Add a node if Keras accepts it on the symbolic operands; its id, or None."""
        try:
            obj = self.layers[layer] if isinstance(layer, int) else instantiate(layer, self.policy)
            out = _call(obj, [self.tensors[i] for i in operands], call, None)
        except Exception:  # noqa: BLE001 - Keras refusing a combination just means: not this one
            return None
        if not isinstance(out, keras.KerasTensor) or any(out is self.tensors[i] for i in operands) or 0 in out.shape[1:] or \
                math.prod(d or 3 for d in out.shape[1:]) > MAX_ELEMENTS:
            return None
        family = "float" if "float" in str(out.dtype) else "int" if "int" in str(out.dtype) else "other"
        if family == "int" and bound is None or family == "other":
            return None
        node_id = len(self.tensors)
        self.nodes.append(NodeRecipe(layer, tuple(operands), call))
        self.tensors.append(out)
        self.slots.append(Slot(tuple(out.shape), family, bound if family == "int" else None, (), str(out.dtype)))
        self.layers[node_id] = obj
        self.used.update(operands)
        return node_id

    def leaves(self, family: str = "float") -> list[int]:
        return [i for i, s in enumerate(self.slots) if i not in self.used and s.dtype == family]


def _layer(draw: st.DrawFn, entry: LayerEntry, slot: Slot) -> tuple[LayerRecipe, dict[str, Any]]:
    kwargs = draw(entry.kwargs(slot))
    frozen = draw(st.integers(0, 9)) == 0
    return LayerRecipe(entry.build_as or entry.name, tuple(kwargs.items()), frozen), kwargs


def apply_entry(draw: st.DrawFn, draft: Draft, entry: LayerEntry, node: int) -> int | None:
    """Apply a unary catalogue entry to ``node``; an integer output gets an id consumer at once."""
    slot = draft.slots[node]
    recipe, kwargs = _layer(draw, entry, slot)
    bound = entry.gives_int(kwargs, slot) if entry.gives_int else None
    new = draft.apply(recipe, [node], bound=bound)
    return new if new is None else to_float(draw, draft, new)


def to_float(draw: st.DrawFn, draft: Draft, node: int, depth: int = 0) -> int | None:
    """Continue an id or string node until it is float (Embedding, CategoryEncoding, lookups, hashing)."""
    for _ in range(4):
        slot = draft.slots[node]
        if slot.dtype == "float":
            return node
        choices = entries_for(slot)
        if depth > 0 or slot.dtype == "int" and draw(st.booleans()):
            choices = [e for e in choices if e.gives_int is None] or choices
        if slot.dtype in ("int", "bool") and (not choices or draw(st.integers(0, 3)) == 0):
            scale = 1 / 255 if slot.bound == 256 else 1.0  # cast (and rescale uint8 pixels)
            return draft.apply(LayerRecipe("Rescaling", (("scale", scale),)), [node])
        if not choices:
            return None
        entry = draw(st.sampled_from(sorted(choices, key=lambda e: e.name)))
        recipe, kwargs = _layer(draw, entry, slot)
        bound = entry.gives_int(kwargs, slot) if entry.gives_int else None
        new = draft.apply(recipe, [node], bound=bound)
        if new is None:
            new = draft.apply(LayerRecipe("Embedding", (("input_dim", slot.bound or 2), ("output_dim", 2))), [node]) \
                if slot.dtype == "int" else None
            if new is None:
                return None
        node, depth = new, depth + 1
    return node if draft.slots[node].dtype == "float" else None


def _pick(draw: st.DrawFn, draft: Draft, candidates: list[int]) -> int:
    leaves = [c for c in candidates if c not in draft.used]
    pool = leaves if leaves and draw(st.integers(0, 3)) > 0 else candidates
    return draw(st.sampled_from(pool))


def unary_step(draw: st.DrawFn, draft: Draft, node: int) -> int | None:
    """One unary operation on ``node``: a catalogue layer, a custom block, a nested model, or a mask chain."""
    kind = draw(st.sampled_from(["layer"] * 8 + ["block", "submodel", "mask"]))
    slot = draft.slots[node]
    if kind == "block":
        return block_step(draw, draft, node)
    if kind == "submodel":
        return submodel_step(draw, draft, node)
    if kind == "mask" and len(slot.shape) == 3 and slot.shape[-1] is not None:
        masked = draft.apply(LayerRecipe("Masking", (("mask_value", 0.0),)), [node])
        rnn = draw(st.sampled_from(["LSTM", "GRU", "SimpleRNN"]))
        return None if masked is None else draft.apply(LayerRecipe(rnn, (("units", draw(st.integers(1, 3))),)), [masked])
    entries = [e for e in entries_for(slot) if e.name != "Masking"]
    if not entries:
        return None
    return apply_entry(draw, draft, draw(st.sampled_from(entries)), node)


def _chain(draw: st.DrawFn, slot: Slot, allowed: tuple[str, ...] | None, length: int) -> list[LayerRecipe]:
    """Up to ``length`` unary float layers that apply one after another, tried on a symbolic tensor."""
    tensor, chain = keras.KerasTensor(slot.shape, dtype="float32"), []
    for _ in range(length):
        entries = [e for e in entries_for(slot) if e.gives_int is None and (allowed is None or e.name in allowed)
                   and e.name != "Masking"]
        if not entries:
            break
        recipe, _kwargs = _layer(draw, draw(st.sampled_from(entries)), slot)
        try:
            out = instantiate(recipe)(tensor)
        except Exception:  # noqa: BLE001
            continue
        if not isinstance(out, keras.KerasTensor) or "float" not in str(out.dtype) or 0 in out.shape[1:] or \
                math.prod(d or 3 for d in out.shape[1:]) > MAX_ELEMENTS:
            continue
        chain.append(recipe)
        tensor, slot = out, Slot(tuple(out.shape), "float")
    return chain


def block_step(draw: st.DrawFn, draft: Draft, node: int) -> int | None:
    """A registered :class:`~.custom.GeneratedBlock` with sublayers made in ``__init__``."""
    chain = _chain(draw, draft.slots[node], BLOCKABLE, draw(st.integers(1, 3)))
    if not chain:
        return None
    recipe = LayerRecipe(BLOCK_CLASS, (("layers", [layer.to_dict() for layer in chain]),), draw(st.integers(0, 9)) == 0)
    return draft.apply(recipe, [node])


def submodel_step(draw: st.DrawFn, draft: Draft, node: int) -> int | None:
    """A nested functional model (one input, a chain of layers) used as a layer."""
    slot = draft.slots[node]
    chain = _chain(draw, slot, None, draw(st.integers(1, 3)))
    if not chain:
        return None
    nodes = tuple(NodeRecipe(layer, (j,)) for j, layer in enumerate(chain))
    inner = ModelRecipe("functional", (InputRecipe("sub_in", tuple(slot.shape[1:]), "float32"),), nodes, (len(chain),))
    return draft.apply(LayerRecipe(SUBMODEL_CLASS, (("recipe", inner.to_dict()),)), [node])


def pair_step(draw: st.DrawFn, draft: Draft, floats: list[int]) -> int | None:
    """A merge or attention layer on two compatible nodes (the same node twice only for attention)."""
    first = _pick(draw, draft, floats)
    entries = entries_for(draft.slots[first], arity=2)
    if not entries:
        return None
    entry = draw(st.sampled_from(entries))
    a = draft.slots[first].shape
    partners = [n for n in floats if pair_compatible(entry, a, draft.slots[n].shape)
                and (n != first or "Attention" in entry.name)]
    if not partners:
        return None
    second = _pick(draw, draft, partners)
    recipe, _kwargs = _layer(draw, entry, draft.slots[first])
    return draft.apply(recipe, [first, second], entry.call)


def shared_step(draw: st.DrawFn, draft: Draft) -> int | None:
    """Apply an existing single-input layer again to a node of the shape it first took."""
    offset = len(draft.inputs)
    options = [(offset + j, n.inputs[0]) for j, n in enumerate(draft.nodes) if isinstance(n.layer, LayerRecipe)
               and n.call == "single" and draft.slots[n.inputs[0]].dtype == "float"]
    if not options:
        return None
    owner, first_input = draw(st.sampled_from(options))
    targets = [i for i, s in enumerate(draft.slots) if s.shape == draft.slots[first_input].shape and s.dtype == "float"]
    return draft.apply(owner, [draw(st.sampled_from(targets))])


def reduce_to_vector(draft: Draft, node: int) -> int | None:
    """A rank-2 view of ``node`` (Flatten or global average pooling) so it can be concatenated."""
    rank = len(draft.slots[node].shape)
    if rank == 2:
        return node
    if draft.slots[node].static:
        return draft.apply(LayerRecipe("Flatten"), [node])
    return draft.apply(LayerRecipe(f"GlobalAveragePooling{rank - 2}D"), [node]) if rank in (3, 4, 5) else None


def merge_leaves(draft: Draft, limit: int) -> None:
    """Concatenate float leaves until at most ``limit`` remain (or no two can be merged)."""
    while len(draft.leaves()) > limit:
        vectors = [v for v in (reduce_to_vector(draft, n) for n in draft.leaves()[:2]) if v is not None]
        if len(vectors) < 2 or draft.apply(LayerRecipe("Concatenate"), vectors, "list") is None:
            return


@st.composite
def graph_recipes(draw: st.DrawFn, kind: str, max_layers: int, input_dtypes: tuple[str, ...] | None,
                  compiled: bool | None, trained: bool | None, containing: Callable[[], Any] | None) -> ModelRecipe:
    """A recipe of ``kind``: inputs, a random graph of at most about ``max_layers`` layer calls, outputs.

    Keras seeds new layers from Python's global ``random``; its state is restored
    so drawing stays deterministic for hypothesis.
    """
    state = random.getstate()
    try:
        return _graph_recipe(draw, kind, max_layers, input_dtypes, compiled, trained, containing)
    finally:
        random.setstate(state)


def _graph_recipe(draw: st.DrawFn, kind: str, max_layers: int, input_dtypes: tuple[str, ...] | None,
                  compiled: bool | None, trained: bool | None, containing: Callable[[], Any] | None) -> ModelRecipe:
    sequential = kind == "sequential"
    policy = draw(st.sampled_from([None] * 6 + ["mixed_float16", "mixed_bfloat16"]))
    draft = Draft(policy)
    count = 1 if sequential else draw(st.integers(1, 3))
    specs = draw(input_draws.input_lists(count, input_dtypes, containing is not None))
    if containing is not None:
        probe = probe_factory(containing)
        specs[0] = InputRecipe(specs[0].name, draw(st.sampled_from(probe.accepted)), "float32")
    input_ids = [draft.add_input(spec) for spec in specs]  # inputs are nodes 0..n-1, before any layer call
    heads = [_first(draw, draft, node, spec) for node, spec in zip(input_ids, specs)]
    assume(all(h is not None for h in heads))  # an adapter Keras refused: discard this draw
    if containing is not None:
        heads[0] = _place(draw, draft, heads[0], containing)
    current = heads[-1]
    for _ in range(draw(st.integers(1, max_layers))):
        floats = [i for i, s in enumerate(draft.slots) if s.dtype == "float"]
        op = "unary" if sequential else draw(st.sampled_from(["unary"] * 5 + ["pair"] * 2 + ["shared"]))
        if op == "unary":
            new = unary_step(draw, draft, current if sequential else _pick(draw, draft, floats))
        elif op == "pair":
            new = pair_step(draw, draft, floats)
        else:
            new = shared_step(draw, draft)
        if new is not None and (not sequential or draft.slots[new].dtype == "float"):
            current = new
    assume(draft.nodes)
    if sequential:  # a chain: node k takes node k - 1 (a partly applied step would break it)
        first = len(specs)
        assume(all(n.inputs == (first + j - 1,) for j, n in enumerate(draft.nodes)) and current == draft_last(draft))
    else:
        merge_leaves(draft, 3)
    outputs = [current] if sequential else draft.leaves() or [current]
    compile_recipe, train_steps = None, 0
    if compiled or (compiled is None and trained) or (compiled is None and draw(st.booleans())):
        outputs, compile_recipe = _compile(draw, draft, outputs, kind)
        train_steps = draw(st.integers(1, 3)) if trained or (trained is None and draw(st.booleans())) else 0
    structure = "single" if sequential else draw(st.sampled_from(
        ["single", "list", "dict"] if len(outputs) == 1 else ["list", "dict"]))
    in_structure = "single" if len(specs) == 1 else draw(st.sampled_from(["list", "dict"]))
    assume(_connects(draft, outputs))
    recipe = ModelRecipe(kind, tuple(draft.inputs), tuple(draft.nodes), tuple(outputs), structure, in_structure,
                         policy, compile_recipe, train_steps, draw(st.integers(0, 2**16)))
    if train_steps and not trainable_under_policy(recipe):
        assume(not trained)  # trained=True asked for training Keras cannot do
        recipe = dataclasses.replace(recipe, train_steps=0)  # no further draw: later recipes stay as they were
    return recipe


# Layers whose gradient TensorFlow cannot compute in bfloat16 (the image transform's gradient: "TypeError: Invalid
# dtype bfloat16" in train_on_batch, Keras 3.15 / TF 2.21; measured on each augmentation layer, sound recipe 192).
NO_BFLOAT16_TRAINING = frozenset({"RandomRotation", "RandomTranslation", "RandomZoom", "RandomShear",
                                  "RandomPerspective", "AugMix", "RandAugment"})


def trainable_under_policy(recipe: ModelRecipe) -> bool:
    """Whether Keras can train the recipe's model under its dtype policy (the generator trains only those).

    >>> from pytest_tfroundtrip.generators.recipes import InputRecipe, LayerRecipe, NodeRecipe
    >>> recipe = ModelRecipe("sequential", (InputRecipe("x", (4, 4, 1), "float32"),),
    ...                      (NodeRecipe(LayerRecipe("RandomZoom", (("height_factor", 0.1),)), (0,)),), (1,),
    ...                      dtype_policy="mixed_bfloat16")
    >>> trainable_under_policy(recipe), trainable_under_policy(dataclasses.replace(recipe, dtype_policy=None))
    (False, True)
    """
    return recipe.dtype_policy != "mixed_bfloat16" or not NO_BFLOAT16_TRAINING & set(recipe.layer_classes())


def draft_last(draft: Draft) -> int:
    """The id of the newest node."""
    return len(draft.tensors) - 1


def _connects(draft: Draft, outputs: list[int]) -> bool:
    """Whether Keras accepts the graph as a functional model (every input used, no cycle) and it runs.

    The eager call on sample inputs catches what symbolic shapes cannot: a kernel
    missing for a dtype, an op limited in rank, a non-finite output.
    """
    try:
        model = keras.Model(draft.tensors[:len(draft.inputs)], [draft.tensors[o] for o in outputs])
        rng = np.random.default_rng(0)
        results = model([sample_input(spec, 2, rng) for spec in draft.inputs], training=False)
        results = results if isinstance(results, (list, tuple)) else [results]
        declared = [draft.tensors[o].shape for o in outputs]
        return all(np.isfinite(np.asarray(r, dtype="float64")).all() and len(r.shape) == len(d) and
                   all(a is None or a == b for a, b in zip(d[1:], r.shape[1:])) for r, d in zip(results, declared))
    except Exception:  # noqa: BLE001
        return False


def _first(draw: st.DrawFn, draft: Draft, node: int, spec: InputRecipe) -> int | None:
    """Make an input float: adapters for ids/strings/bools, Dense for a sparse input."""
    if spec.sparse:
        return draft.apply(LayerRecipe("Dense", (("units", draw(st.integers(1, 4))),)), [node])
    return to_float(draw, draft, node)


def _place(draw: st.DrawFn, draft: Draft, node: int, containing: Callable[[], Any]) -> int:
    """Put the user's layer after a few shape-keeping layers on ``node``."""
    for _ in range(draw(st.integers(0, 2))):
        entry = CATALOGUE[draw(st.sampled_from(SHAPE_KEEPING))]
        node = apply_entry(draw, draft, entry, node) or node
    placed = draft.apply(LayerRecipe(FACTORY_CLASS, (("factory", factory_reference(containing)),)), [node])
    if placed is None:
        raise ValueError(f"the containing= layer from {containing!r} failed on a symbolic input of shape "
                         f"{draft.slots[node].shape} although it accepted that shape when called eagerly")
    return placed


def _compile(draw: st.DrawFn, draft: Draft, outputs: list[int], kind: str) -> tuple[list[int], Any]:
    """Add a float32 head fitting a drawn loss to every output, and draw the compile recipe."""
    losses, heads = [], []
    for out in outputs:
        loss = draw(loss_entries())
        if len(draft.slots[out].shape) > 5:  # TensorFlow's softmax takes at most rank 5
            out = reduce_to_vector(draft, out)
            assume(out is not None)
        units = draw(st.integers(max(loss.min_units, 1), 3))
        dense = LayerRecipe("Dense", (("units", units), ("activation", loss.head), ("dtype", "float32")))
        head = draft.apply(dense, [out])
        assume(head is not None)
        losses.append(loss)
        heads.append(head)
    return heads, draw(compile_recipes(losses, draft.policy, custom_train_step=kind == "subclassed"))
