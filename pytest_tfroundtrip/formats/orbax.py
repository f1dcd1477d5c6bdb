"""``orbax``: Keras 3's own Orbax checkpoint, ``keras.callbacks.OrbaxCheckpoint`` during ``fit``.

Keras writes an Orbax checkpoint only from that callback, at the end of an
epoch (or every N batches): the model's config, its weights, its optimizer
and metric variables.  ``keras.models.load_model(directory)`` rebuilds the
model from the config and assigns the stored values to its variables by path.

Saving calls the callback's own hooks on the model, as ``fit`` does at the
end of its first epoch (``set_model``, ``on_train_begin``, ``on_epoch_end(0)``,
``on_train_end``), without training: the model is only read.  The callback
needs a compiled model (``fit`` needs one): an uncompiled model is not
applicable.

Keras assigns by path and skips, without a word, every stored value whose
path the rebuilt model does not have; the load says which ones it left.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.backends import backend_call_lines
from pytest_tfroundtrip.formats.base import KerasReload, Preserves, ReloadedCall, RoundTripFormat, Subject
from pytest_tfroundtrip.results.tolerances import EXACT

INSTALL = "pip install 'pytest-tfroundtrip[orbax]'"
# The state-tree groups a reload must fill: for inference the weights, to resume training the optimizer's too.
WEIGHT_GROUPS = ("trainable_variables", "non_trainable_variables")
TRAINING_GROUPS = (*WEIGHT_GROUPS, "optimizer_variables")
SEED_STATE = "/seed_generator_state"


class StateNotRestored(RuntimeError):
    """``keras.models.load_model`` left stored values unassigned: their paths are not the rebuilt model's."""


class NotCompiled(RuntimeError):
    """The model has no optimizer: ``fit`` (and with it ``OrbaxCheckpoint``) needs a compiled model."""


class OrbaxFormat(RoundTripFormat):
    name = "orbax"
    order = 65
    tolerance_family = EXACT
    preserves = Preserves(architecture=True, weights=True, optimizer_state=True, needs_python_classes=True, resumes_training=True)
    saved_with = 'model.fit(..., callbacks=[keras.callbacks.OrbaxCheckpoint(directory="orbax")])'
    reloaded_with = 'keras.models.load_model("orbax")'

    def unavailable_reason(self) -> str | None:
        reason = super().unavailable_reason()
        if reason is None and not _lazy.is_installed("orbax.checkpoint"):
            reason = f"orbax-checkpoint is not installed: {INSTALL}"
        return reason

    def listed_under(self, backend: str) -> bool:
        """Checked when named (``formats=[..., "orbax"]``), on every backend: its save imports JAX into the process
        under test (1.3 s, a multithreaded runtime later forks warn about) and adds about 3.4 s to the check of a
        compiled model (measured); an uncompiled model (the fixtures' usual one) has no Orbax checkpoint at all."""
        return False

    def not_applicable_reason(self, subject: Subject) -> str | None:
        model = subject.model
        if _lazy.is_keras2_model(model):
            return f"keras.callbacks.OrbaxCheckpoint is Keras 3's: a tf_keras (Keras 2) model has no Orbax checkpoint {self.try_anyway}"
        if getattr(model, "optimizer", None) is None:
            return ("keras.callbacks.OrbaxCheckpoint writes a checkpoint during fit, which needs a compiled model; "
                    f"this model is not compiled (compile it to check orbax) {self.try_anyway}")
        return None

    def cannot_take(self, message: str) -> str | None:
        """Chosen by default, a load that leaves stored values unassigned is Keras's measured limit, not a finding.

        Keras 3.15 stores a ``keras.Sequential`` model's values under paths its rebuilt
        model does not have: every Sequential model loses every weight.  Named in
        ``formats=``, it is a failure.

        Example:
            >>> FORMAT.cannot_take("StateNotRestored: keras.models.load_model('orbax') left values ...")[:56]
            "Keras's Orbax loader assigns stored values by variable p"
            >>> FORMAT.cannot_take("ValueError: Unknown layer") is None
            True
        """
        said = next((line.strip() for line in message.splitlines() if f"{StateNotRestored.__name__}: " in line), None)
        if said is None:
            return None
        return ("Keras's Orbax loader assigns stored values by variable path, and the model it rebuilds has other paths "
                f"(measured: every keras.Sequential model, and sublayers a custom layer names automatically): {said[:300]} "
                f"(name {self.name!r} in formats= to see it fail)")

    def save(self, subject: Subject, directory: Path) -> Path:
        return write_checkpoint(subject.model, directory / "orbax")

    def save_for_training(self, model: Any, directory: Path) -> Path:
        return write_checkpoint(model, directory / "orbax")

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        with layer_names_as_in_a_new_interpreter():
            reloaded = _lazy.keras().models.load_model(artifact, safe_mode=True)
        require_restored(artifact, reloaded, WEIGHT_GROUPS)
        return KerasReload(reloaded, subject, restored_by=f"keras.models.load_model({artifact.name!r})")

    def load_for_training(self, artifact: Path, rebuild: Callable[[], Any]) -> Any:
        with layer_names_as_in_a_new_interpreter():
            reloaded = _lazy.keras().models.load_model(artifact)
        require_restored(artifact, reloaded, TRAINING_GROUPS)
        return reloaded

    def reproduction_load_lines(self, artifact: Path) -> list[str] | None:
        return ["import keras", f"model = keras.models.load_model({str(artifact)!r})", *restored_check_lines(artifact)]

    def reproduction_call_lines(self, subject: Subject, artifact: Path) -> list[str] | None:
        return backend_call_lines(subject.signature.template)


@contextmanager
def layer_names_as_in_a_new_interpreter() -> Iterator[None]:
    """Keras's automatic layer names count from zero inside, as in a new interpreter; the counters are put back after.

    ``load_model`` assigns stored values by variable path, and a sublayer's path
    holds its automatic name (``dense_1``): in a process that made a ``Dense``
    before, a subclassed model's sublayers are named one further and take each
    other's values (measured: a shape error, or silently wrong values where the
    shapes agree).  A worker that loaded other formats, or this process, is no
    new interpreter: the counters are emptied for the load only, so the model
    under test and the user's later names are untouched.

    Example:
        >>> import keras
        >>> _ = keras.layers.Dense(1)
        >>> with layer_names_as_in_a_new_interpreter():
        ...     keras.layers.Dense(1).name
        'dense'
    """
    from keras.src.backend.common import global_state  # no public API sets the counters back

    saved = global_state.get_global_attribute("object_name_uids")
    global_state.set_global_attribute("object_name_uids", collections.defaultdict(int))
    try:
        yield
    finally:
        global_state.set_global_attribute("object_name_uids", saved)


def write_checkpoint(model: Any, directory: Path) -> Path:
    """Write ``model``'s Orbax checkpoint with ``keras.callbacks.OrbaxCheckpoint``, as ``fit`` would after one epoch.

    The callback's hooks, called in ``fit``'s order, on the model as it is:
    nothing is trained, and the model is only read.

    Example:
        >>> import keras, tempfile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> sorted(p.name for p in write_checkpoint(model, Path(tempfile.mkdtemp()) / "orbax").iterdir())
        ['0']
    """
    if getattr(model, "optimizer", None) is None:  # the callback's own error: AttributeError ... no attribute 'optimizer'
        raise NotCompiled("keras.callbacks.OrbaxCheckpoint saves a model during fit, which needs a compiled model; "
                          "this model is not compiled (compile it to check orbax)")
    callback = _lazy.keras().callbacks.OrbaxCheckpoint(directory=str(directory))
    callback.set_model(model)
    try:
        callback.on_train_begin()
        callback.on_epoch_end(0, logs={})
        callback.wait_until_finished()  # raises a failed background save (on_train_end would swallow it)
    finally:
        callback.on_train_end()
    return directory


def require_restored(artifact: Path, reloaded: Any, groups: tuple[str, ...]) -> None:
    """Raise :class:`StateNotRestored` if a value stored in ``groups`` has no variable of that path in ``reloaded``."""
    # A dropout's RNG state is named by a process-wide counter ('seed_generator_3'): it is no weight, and the resume
    # check aligns RNG state for every format.
    stored = {group: [path for path in paths if not path.endswith(SEED_STATE)] for group, paths in stored_paths(artifact).items()}
    present = reloaded_paths(reloaded)
    lost = {group: sorted(set(stored.get(group, ())) - set(present.get(group, ()))) for group in groups}
    lost = {group: paths for group, paths in lost.items() if paths}
    if not lost:
        return
    said = "; ".join(f"{len(paths)} of {len(stored[group])} {group} stored as {_some(paths)}, the rebuilt model's "
                     f"are {_some(sorted(present.get(group, ())))}" for group, paths in lost.items())
    raise StateNotRestored(
        f"keras.models.load_model({artifact.name!r}) left values of the checkpoint unassigned: {said} (Keras assigns "
        "them by variable path and skips, silently, a path the model rebuilt from the config does not have)")


def stored_paths(artifact: Path) -> dict[str, list[str]]:
    """The variable paths of each group in the latest checkpoint under ``artifact`` (read from Orbax's metadata)."""
    import orbax.checkpoint as orbax_checkpoint

    latest = max((step for step in artifact.iterdir() if step.name.isdigit()), key=lambda step: int(step.name))
    tree = orbax_checkpoint.v1.pytree_metadata(str(latest), checkpointable_name="pytree").metadata
    return {group: _leaf_paths(tree[group]) for group in tree if isinstance(tree[group], Mapping)}


def reloaded_paths(model: Any) -> dict[str, list[str]]:
    """The variable paths of each group of a Keras model, as ``model.set_state_tree`` matches them."""
    optimizer = getattr(model, "optimizer", None)
    return {"trainable_variables": [v.path for v in model.trainable_variables],
            "non_trainable_variables": [v.path for v in model.non_trainable_variables],
            "optimizer_variables": [v.path for v in optimizer.variables] if optimizer is not None else []}


def restored_check_lines(artifact: Path) -> list[str]:
    """Plain lines asserting that the loaded ``model`` has a variable for every weight path the checkpoint stores.

    Example:
        >>> restored_check_lines(Path("/tmp/orbax"))[-1]
        "assert not lost, f'stored weights not restored: {lost}; the reloaded model has {sorted(have)}'"
    """
    return [
        "import os, orbax.checkpoint as ocp  # what load_model read, and the paths it assigns by",
        f"step = max((name for name in os.listdir({str(artifact)!r}) if name.isdigit()), key=int)",
        f"tree = ocp.v1.pytree_metadata(os.path.join({str(artifact)!r}, step), checkpointable_name='pytree').metadata",
        "paths = lambda t, at='': [p for k, v in t.items() for p in (paths(v, f'{at}{k}/') if isinstance(v, dict) else [at + k])]",
        "stored = paths(dict(tree['trainable_variables'])) + paths(dict(tree['non_trainable_variables']))",
        "stored = [path for path in stored if not path.endswith('/seed_generator_state')]  # RNG state, no weight",
        "have = {v.path for v in model.weights}",
        "lost = [path for path in stored if path not in have]",
        "assert not lost, f'stored weights not restored: {lost}; the reloaded model has {sorted(have)}'",
    ]


def _leaf_paths(tree: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``a/b/c`` for each leaf of a nested dict, as Keras flattens a state tree.

    Example:
        >>> _leaf_paths({"mlp": {"dense": {"kernel": 1, "bias": 2}}, "step": 3})
        ['mlp/dense/kernel', 'mlp/dense/bias', 'step']
    """
    paths = []
    for key, value in tree.items():
        if isinstance(value, Mapping):
            paths.extend(_leaf_paths(value, f"{prefix}{key}/"))
        else:
            paths.append(f"{prefix}{key}")
    return paths


def _some(paths: list[str], shown: int = 4) -> str:
    """Up to ``shown`` paths, quoted, and how many more.

    Example:
        >>> _some(["a", "b", "c"], shown=2)
        "'a', 'b' and 1 more"
    """
    listed = ", ".join(repr(path) for path in paths[:shown])
    return listed + (f" and {len(paths) - shown} more" if len(paths) > shown else "") if paths else "none"


FORMAT = OrbaxFormat()
