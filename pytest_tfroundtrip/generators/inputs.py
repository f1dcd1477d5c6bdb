"""Strategies for model inputs: dtype families, small shapes, value ranges, vocabularies.

Example:
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None)
    ... @given(input_recipes(0, ("int32",)))
    ... def check(spec):
    ...     assert spec.dtype == "int32" and spec.high is not None
    >>> check()
"""

from __future__ import annotations

from hypothesis import strategies as st

from pytest_tfroundtrip.generators.recipes import InputRecipe

FLOAT_DTYPES = ("float32", "float16", "float64", "bfloat16")
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8")
ALL_DTYPES = (*FLOAT_DTYPES, *INT_DTYPES, "bool", "string", "sparse")
WORDS = ("cat", "dog", "bird", "red fish", "blue cat", "the dog")

_DIM = st.integers(2, 4)
FLOAT_SHAPES = st.one_of(
    st.tuples(st.integers(1, 6)),
    st.tuples(st.sampled_from([None, 2, 3, 4, 5]), st.integers(1, 4)),
    st.tuples(_DIM, _DIM, st.integers(1, 3)),
    st.tuples(st.integers(2, 3), st.integers(2, 3), st.integers(2, 3), st.integers(1, 2)),
    st.just((2, 2, 2, 2, 1)),
)


def _weights(dtype: str) -> int:
    return 8 if dtype == "float32" else 1


def dtype_names(allowed: tuple[str, ...] | None) -> list[str]:
    """Allowed input dtype names, float32 weighted as the most common.

    >>> dtype_names(("int8", "float32")).count("float32") > 1
    True
    """
    names = ALL_DTYPES if allowed is None else tuple(allowed)
    unknown = set(names) - set(ALL_DTYPES)
    if unknown:
        raise ValueError(f"unknown input dtypes {sorted(unknown)}; choose from {ALL_DTYPES}")
    return [n for n in names for _ in range(_weights(n))]


@st.composite
def input_recipes(draw: st.DrawFn, index: int, allowed: tuple[str, ...] | None = None) -> InputRecipe:
    """One input named ``in_<index>`` of an allowed dtype, with values the model can take."""
    name = f"in_{index}"
    dtype = draw(st.sampled_from(dtype_names(allowed)))
    if dtype in FLOAT_DTYPES:
        return InputRecipe(name, draw(FLOAT_SHAPES), dtype)
    if dtype == "sparse":
        return InputRecipe(name, (draw(st.integers(2, 6)),), "float32", sparse=True)
    if dtype == "bool":
        return InputRecipe(name, draw(FLOAT_SHAPES), "bool")
    if dtype == "string":
        vocabulary = tuple(draw(st.lists(st.sampled_from(WORDS), min_size=2, max_size=5, unique=True)))
        return InputRecipe(name, draw(st.sampled_from([(1,), (2,), (3,)])), "string", vocabulary=vocabulary)
    if dtype == "uint8" and draw(st.booleans()):  # an image: cast and rescaled, then convolutions
        return InputRecipe(name, (draw(_DIM), draw(_DIM), draw(st.sampled_from([1, 3]))), "uint8", low=0, high=256)
    shape = draw(st.sampled_from([(1,), (2,), (3,), (None,), (2, 2)]))
    return InputRecipe(name, shape, dtype, low=0, high=draw(st.integers(2, 8)))


@st.composite
def input_lists(draw: st.DrawFn, count: int, allowed: tuple[str, ...] | None, float_first: bool = False) -> list[InputRecipe]:
    """``count`` inputs; with ``float_first`` the first is float32 (the host input of ``containing=``)."""
    specs = [draw(input_recipes(i, allowed)) for i in range(count)]
    if float_first:
        specs[0] = InputRecipe("in_0", (4,), "float32")
    return specs
