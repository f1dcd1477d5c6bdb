"""Recipes of everyday models that the graph generator cannot express, each with the user's own rebuild.

Five kinds, one per way a real user's model keeps state beyond ``get_config()`` and its
weights, or trains in its own way (issue 27):

- ``lookup``: a structured-data model whose ``StringLookup``/``IntegerLookup``/``Normalization``
  are adapted on data (string inputs); the vocabulary is an asset, in neither the config nor
  the weights file;
- ``lora``: a fine-tune with ``layer.enable_lora(rank)`` on its dense layers;
- ``quantized``: a trained float model then ``model.quantize("int8")``;
- ``python_loss``: a forecaster (LSTM/GRU/MLP) compiled with a plain, unregistered Python loss;
- ``two_optimizers``: the GAN of the Keras guide "Customizing what happens in fit()", with its
  own ``compile(d_optimizer, g_optimizer, loss_fn)`` and ``train_step``.

``build_use_case(recipe)`` (:mod:`.usecase_models`) makes the trained model; ``user_rebuild(recipe)``
is what the user's code does before ``load_weights`` or a checkpoint restore: build the same
architecture untrained (another weight seed), adapt again on the same data, enable LoRA, quantize,
compile as the user does.  The recipes are plain data: this module imports neither Keras nor
TensorFlow, nor the module that builds them.

Example:
    >>> recipe = UseCaseRecipe("lora", seed=3, width=8, depth=1, lora_rank=2)
    >>> UseCaseRecipe.from_json(recipe.to_json()) == recipe
    True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from hypothesis import strategies as st

USE_CASES = ("lookup", "lora", "quantized", "python_loss", "two_optimizers")
# Defects of the user's rebuild (what `rebuild=` must let the checker see); the kinds each makes sense for.
REBUILD_DEFECTS = {"adapts_on_other_data": ("lookup",), "forgets_quantize": ("quantized",)}
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")


@dataclass(frozen=True)
class UseCaseRecipe:
    """One everyday model: its kind, sizes, training, and (for a mutated case) a defect of its rebuild.

    ``variant`` picks a shape within the kind: ``lookup``: ``"string"``, ``"integer"`` or ``"both"``
    lookups; ``python_loss``: ``"lstm"``, ``"gru"`` or ``"dense"``; ``quantized``: ``"dense"`` or
    ``"embedding"``; ``lora``: ``"dense"`` or ``"einsum"``.

    >>> UseCaseRecipe("lookup", seed=0, variant="both").kind
    'lookup'
    """

    kind: str
    seed: int = 0
    width: int = 8
    depth: int = 1
    variant: str = ""
    lora_rank: int = 0
    optimizer: str = "adam"
    train_steps: int = 2
    rebuild_defect: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in USE_CASES:
            raise ValueError(f"kind must be one of {USE_CASES}, got {self.kind!r}")
        if self.rebuild_defect is not None and self.kind not in REBUILD_DEFECTS.get(self.rebuild_defect, ()):
            raise ValueError(f"rebuild defect {self.rebuild_defect!r} does not apply to kind {self.kind!r}")

    def to_json(self) -> str:
        """The recipe as JSON text; :meth:`from_json` reads it back."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> UseCaseRecipe:
        """Read a recipe written by :meth:`to_json`."""
        return cls(**json.loads(text))

    def to_code(self) -> str:
        """Python source that rebuilds this model as ``model`` (for a regression test).

        >>> code = UseCaseRecipe("two_optimizers").to_code()
        >>> "recipe = UseCaseRecipe(kind='two_optimizers'" in code
        True
        """
        return ("from pytest_tfroundtrip.generators.usecase_models import build_use_case, user_rebuild\n"
                "from pytest_tfroundtrip.generators.usecases import UseCaseRecipe\n\n"
                f"recipe = {self!r}\nmodel = build_use_case(recipe)\nrebuild = user_rebuild(recipe)\n")

    def rebuild_code(self) -> str:
        """Python source defining ``build()``, the user's rebuild, for an oracle in another interpreter."""
        return ("from pytest_tfroundtrip.generators.usecase_models import build_use_case\n"
                "from pytest_tfroundtrip.generators.usecases import UseCaseRecipe\n"
                f"def build():\n    return build_use_case(UseCaseRecipe.from_json({self.to_json()!r}), trained=False)\n")


_VARIANTS = {"lookup": ("string", "integer", "both"), "lora": ("dense", "einsum"), "quantized": ("dense", "embedding"),
             "python_loss": ("lstm", "gru", "dense"), "two_optimizers": ("dense",)}


def use_case_recipes(kinds: tuple[str, ...] = USE_CASES, rebuild_defect: str | None = None
                     ) -> st.SearchStrategy[UseCaseRecipe]:
    """Recipes of the given kinds (with ``rebuild_defect``: only the kinds it applies to).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None)
    ... @given(use_case_recipes(kinds=("lora",)))
    ... def check(recipe):
    ...     assert recipe.kind == "lora" and recipe.lora_rank >= 1
    >>> check()
    """
    if not kinds or set(kinds) - set(USE_CASES):
        raise ValueError(f"kinds must be a non-empty selection of {USE_CASES}, got {kinds!r}")
    if rebuild_defect is not None:
        kinds = tuple(k for k in kinds if k in REBUILD_DEFECTS[rebuild_defect])
        if not kinds:
            raise ValueError(f"rebuild defect {rebuild_defect!r} applies to none of the kinds given")

    def for_kind(kind: str) -> st.SearchStrategy[UseCaseRecipe]:
        return st.builds(
            UseCaseRecipe, kind=st.just(kind), seed=st.integers(0, 10_000), width=st.sampled_from([4, 8, 16]),
            depth=st.integers(1, 2), variant=st.sampled_from(_VARIANTS[kind]),
            lora_rank=st.integers(1, 4) if kind == "lora" else st.just(0), optimizer=st.sampled_from(OPTIMIZERS),
            train_steps=st.integers(1, 3), rebuild_defect=st.just(rebuild_defect))

    return st.sampled_from(tuple(kinds)).flatmap(for_kind)
