"""Copy a compiled Keras model with its optimizer without serializing anything.

``copy.deepcopy`` is no way out: Keras 3 objects implement ``__reduce__`` by
serializing themselves (their pickling support), so a deep copy goes through
``get_config()``, the very mechanism a round-trip check tests.  This copier
rebuilds every object from its ``__dict__`` instead: containers through their
base-type methods (so Keras's attribute tracking never runs), every
TensorFlow variable as a new variable with the same value (a JAX array as a new buffer), and cached
``tf.function`` steps (bound to the original) dropped so they are traced again.
"""

from __future__ import annotations

import inspect
import re
import threading
import types
import weakref
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy

# Compiled steps close over the original model: the copy must trace its own.
_DROPPED = frozenset({"train_function", "test_function", "predict_function", "_jit_compile_cache"})
_NODE_KEY = re.compile(r"(?P<id>\d+)_ib-(?P<index>\d+)")
_ATOMS = (type(None), bool, int, float, complex, str, bytes, range, types.ModuleType, types.FunctionType,
          types.BuiltinFunctionType, types.MethodWrapperType, type, np.dtype, np.generic, inspect.Signature,
          inspect.Parameter, frozenset)


def structural_copy(root: Any) -> Any:
    """A copy of ``root`` sharing no variable and nothing mutable with it.

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> twin = structural_copy(model)
        >>> twin.weights[0] is model.weights[0], bool(np.array_equal(twin.weights[0].numpy(), model.weights[0].numpy()))
        (False, True)
    """
    copier = _Copier()
    copied = copier.copy(root)
    copier.rekey_optimizers()
    copier.rekey_graph_nodes()
    return copied


class _Copier:
    def __init__(self) -> None:
        self.memo: dict[int, Any] = {}
        self.keep_alive: list[Any] = []  # ids stay unique while copying
        tf = _lazy.tensorflow()
        self.variable_types = (tf.Variable,)
        self.function_types = (tf.types.experimental.PolymorphicFunction, tf.types.experimental.ConcreteFunction)
        # Immutable values and process-wide singletons (the distribution strategy) are shared, not copied.
        self.shared_types = (tf.Tensor, tf.TensorSpec, tf.DType, tf.TensorShape, tf.distribute.Strategy)

    def rekey_optimizers(self) -> None:
        """Optimizers index their variables by the variables' ids: index the copies by theirs."""
        keras = _lazy.keras()
        for optimizer in (c for c in self.memo.values() if isinstance(c, keras.optimizers.Optimizer)):
            variables = getattr(optimizer, "_trainable_variables", None)
            if variables is not None:
                optimizer._trainable_variables_indices = {optimizer._var_key(v): i for i, v in enumerate(variables)}
            if getattr(optimizer, "_exclude_from_weight_decay", None):
                raise TypeError("an optimizer with exclude_from_weight_decay variables cannot be re-keyed safely")
            optimizer._exclude_from_weight_decay_cache = {}

    def rekey_graph_nodes(self) -> None:
        """Functional graphs name their nodes ``"{id(layer)}_ib-{index}"``: name the copies' nodes by the copies' ids.

        Without this, saving a copied functional model raises "could not find node key"
        (``keras.src.ops.function.make_node_key``), since its ``_nodes`` name the original layers.
        """
        for copied in list(self.memo.values()):
            nodes = getattr(copied, "_nodes", None) if hasattr(copied, "_nodes_by_depth") else None
            if not isinstance(nodes, set):
                continue
            rekeyed = set()
            for key in nodes:
                match = _NODE_KEY.fullmatch(key) if isinstance(key, str) else None
                layer = self.memo.get(int(match["id"])) if match else None
                rekeyed.add(key if layer is None or match is None else f"{id(layer)}_ib-{match['index']}")
            object.__setattr__(copied, "_nodes", rekeyed)

    def copy(self, value: Any) -> Any:
        key = id(value)
        if key in self.memo:
            return self.memo[key]
        self.keep_alive.append(value)
        copied = self._copy_new(value)
        self.memo[key] = copied
        return copied

    def _copy_new(self, value: Any) -> Any:
        if isinstance(value, _ATOMS) or isinstance(value, self.shared_types):
            return value
        if isinstance(value, self.variable_types):
            return self._copy_tf_variable(value)
        if isinstance(value, self.function_types):
            return value  # class-level tf.functions are shared like methods; instance steps are dropped
        if isinstance(value, np.ndarray):
            return value.copy()
        if _is_jax_array(value):
            # A Keras variable under JAX holds its value as a jax.Array; training donates it (deletes it) when the
            # value is replaced, so the copy holds its own buffer, never the original's.
            return _lazy.jax_numpy().array(value, copy=True)
        if isinstance(value, weakref.ref):
            referent = value()
            return value if referent is None else weakref.ref(self.copy(referent))
        if isinstance(value, types.MethodType):
            return types.MethodType(value.__func__, self.copy(value.__self__))
        if isinstance(value, type(threading.Lock())) or isinstance(value, type(threading.RLock())):
            return type(value)()
        if hasattr(type(value), "__wrapped__") and hasattr(value, "__wrapped__"):  # wrapt proxies (TF's _DictWrapper)
            return type(value)(self.copy(value.__wrapped__))
        if isinstance(value, tuple):
            items = [self.copy(item) for item in value]
            return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
        if isinstance(value, (list, dict, set)):
            return self._copy_container(value)
        if hasattr(value, "__dict__") or _slots(type(value)):
            return self._copy_object(value)
        raise TypeError(f"cannot copy a {type(value).__module__}.{type(value).__qualname__} without serializing it")

    def _copy_tf_variable(self, variable: Any) -> Any:
        tf = _lazy.tensorflow()
        return tf.Variable(variable.read_value(), trainable=variable.trainable, name=variable.name.split(":")[0],
                           dtype=variable.dtype, aggregation=variable.aggregation, synchronization=variable.synchronization)

    def _copy_container(self, value: Any) -> Any:
        new = type(value).__new__(type(value))
        self.memo[id(value)] = new
        if isinstance(value, list):
            list.extend(new, [self.copy(item) for item in value])
        elif isinstance(value, dict):
            for item_key, item in value.items():
                dict.__setitem__(new, self.copy(item_key), self.copy(item))
        else:
            set.update(new, {self.copy(item) for item in value})
        for name, attribute in getattr(value, "__dict__", {}).items():
            object.__setattr__(new, name, self.copy(attribute))
        return new

    def _copy_object(self, value: Any) -> Any:
        cls = type(value)
        new = cls.__new__(cls)
        self.memo[id(value)] = new
        for name in _slots(cls):
            if hasattr(value, name):
                object.__setattr__(new, name, self.copy(getattr(value, name)))
        for name, attribute in getattr(value, "__dict__", {}).items():
            object.__setattr__(new, name, None if name in _DROPPED else self.copy(attribute))
        return new


def _is_jax_array(value: Any) -> bool:
    return type(value).__module__.startswith("jax") and isinstance(value, _lazy.jax_numpy().ndarray)


def _slots(cls: type) -> list[str]:
    names = []
    for klass in cls.__mro__:
        declared = klass.__dict__.get("__slots__", ())
        names += [declared] if isinstance(declared, str) else [n for n in declared if n not in ("__dict__", "__weakref__")]
    return names
