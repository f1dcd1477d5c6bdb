"""The search loop on synthetic models: conditioning, every failure found, caching."""

from __future__ import annotations

import numpy as np

from pytest_tfroundtrip.checks.search import SearchPlan, search
from pytest_tfroundtrip.inputs.specs import InputSpec, ModelSignature
from pytest_tfroundtrip.inputs.strategies import Example, example_strategy
from pytest_tfroundtrip.results.tolerances import default_tolerance

SIGNATURE = ModelSignature("x", (InputSpec("x", (None, 3), "float32"),))


def graph_tolerance(output, dtype):
    return default_tolerance("graph", dtype)


def sensitive(arrays):
    # Ill-conditioned everywhere: sin of a huge multiple of x.
    return {"y": np.sin(arrays["x"].astype(np.float32) * np.float32(1e9)).astype(np.float32)}


def with_rounding_noise(arrays):
    return sensitive({"x": (arrays["x"] * (1 + 2 * np.finfo(np.float32).eps)).astype(np.float32)})


STEP = 64 * float(np.finfo(np.float32).eps)


def run(reloaded, perturbed_formats, calls=None):
    def reference(arrays):
        if calls is not None:
            calls.append(1)
        return sensitive(arrays)

    return search(SearchPlan(reference, reloaded, lambda outputs: outputs, {name: graph_tolerance for name in reloaded},
                             example_strategy(SIGNATURE), max_examples=10, seed=0,
                             perturbation_for={name: STEP for name in perturbed_formats}))


def test_ill_conditioned_inputs_are_not_blamed_on_reassociating_formats():
    outcome = run({"graph": with_rounding_noise}, frozenset({"graph"}))
    assert outcome.findings == {}
    assert outcome.stats["graph"].ill_conditioned > 0


def test_exact_formats_get_no_conditioning_excuse():
    outcome = run({"exact": with_rounding_noise}, frozenset())
    assert set(outcome.findings) == {"exact"}


def test_a_real_defect_is_still_caught_on_well_conditioned_inputs():
    def reference(arrays):
        return {"y": arrays["x"] * 2.0}

    def defective(arrays):
        return {"y": arrays["x"] * 2.5}

    outcome = search(SearchPlan(reference, {"graph": defective}, lambda outputs: outputs, {"graph": graph_tolerance},
                                example_strategy(SIGNATURE), max_examples=10, seed=0, perturbation_for={"graph": STEP}))
    assert set(outcome.findings) == {"graph"}
    assert outcome.stats["graph"].ill_conditioned == 0


def test_every_failing_format_is_found_each_with_its_input():
    def reference(arrays):
        return {"y": arrays["x"].copy()}

    def wrong_when_large(arrays):
        return {"y": np.where(np.abs(arrays["x"]) > 50, 0.0, arrays["x"]).astype(np.float32)}

    def wrong_batch(arrays):
        if arrays["x"].shape[0] > 1:
            raise ValueError("fixed batch")
        return reference(arrays)

    outcome = search(SearchPlan(reference, {"a": wrong_when_large, "b": wrong_batch, "ok": reference}, lambda o: o,
                                {n: graph_tolerance for n in ("a", "b", "ok")}, example_strategy(SIGNATURE),
                                max_examples=30, seed=1))
    assert set(outcome.findings) == {"a", "b"}
    assert outcome.findings["b"].error == "ValueError: fixed batch"
    assert outcome.findings["b"].example.arrays["x"].shape[0] == 2  # shrunk to the smallest failing batch
    assert outcome.stats["ok"].examples >= 30


def test_reference_outputs_are_computed_once_per_input_for_all_formats():
    calls = []
    run({name: with_rounding_noise for name in ("f1", "f2", "f3")}, frozenset({"f1", "f2", "f3"}), calls)
    # Once per example, plus a determinism re-run and a perturbed run per failing example.
    assert len(calls) <= 10 * 3 + 5


def test_bfloat16_inputs_can_be_perturbed_for_the_conditioning_check():
    import ml_dtypes

    from pytest_tfroundtrip.checks.search import perturbed_output

    x = np.array([[1.0, -2.0]], dtype=ml_dtypes.bfloat16)  # np.finfo refuses this dtype
    moved = perturbed_output(lambda arrays: {"y": arrays["x"]}, Example({"x": x}, {}), STEP)
    assert moved["y"].dtype == x.dtype and not np.array_equal(moved["y"], x)
