"""Explain a resumed run that diverged: what differs first, and the likely cause."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

# Keras 3 optimizer slot names, in words.
_SLOT_WORDS = {"momentum": "first moment", "velocity": "second moment", "velocity_hat": "max second moment"}


@dataclass(frozen=True)
class Divergence:
    """One thing that differs; ``kind`` is optimizer/weights/state/learning_rate/loss/final."""

    kind: str
    message: str


def _close(a: np.ndarray, b: np.ndarray, tolerance: tuple[float, float]) -> bool:
    rtol, atol = tolerance
    if a.shape != b.shape:
        return False
    return bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True))


def _slot_words(path: str, optimizer_name: str) -> str:
    match = re.match(r"(?P<opt>[^/]+)/(?P<var>.+)_(?P<slot>momentum|velocity_hat|velocity)$", path)
    if not match:
        return f"optimizer variable {path!r}"
    words = _SLOT_WORDS.get(match["slot"], match["slot"])
    if match["opt"].startswith("sgd") and match["slot"] == "momentum":
        words = "momentum"
    return f"{optimizer_name} {words} of {match['var']!r}"


def diagnose(
    *, saved: Any, reloaded: Any, saved_python: dict[str, dict[str, Any]], reloaded_python: dict[str, dict[str, Any]],
    reference: Any, final: Any, steps_before: int, reference_losses: list[float], losses: list[float],
    reference_rates: list[float], rates: list[float], tolerance: tuple[float, float],
) -> list[Divergence]:
    """Divergences, most telling first (state lost at reload before its effects)."""
    found: list[Divergence] = []
    optimizer_name = next(iter(saved.optimizer), "optimizer/").split("/")[0].rstrip("_0123456789") or "optimizer"
    optimizer_name = optimizer_name.capitalize() if optimizer_name != "sgd" else "SGD"
    if reloaded.iterations != saved.iterations:
        found.append(Divergence("optimizer",
            f"optimizer.iterations is {reloaded.iterations} after reload (expected {saved.iterations}): "
            "optimizer state was not restored"))
    missing = [p for p in saved.optimizer if p not in reloaded.optimizer and not p.endswith(("iteration", "learning_rate"))]
    if missing and len(reloaded.optimizer) <= 2:
        found.append(Divergence("optimizer", f"the reloaded optimizer has no slot variables ({len(missing)} expected, "
                                             "e.g. " + _slot_words(missing[0], optimizer_name) + "): it starts fresh"))
    for path, value in saved.optimizer.items():
        if path.endswith(("iteration", "learning_rate")) or path not in reloaded.optimizer:
            continue
        now = reloaded.optimizer[path]
        if not _close(value, now, tolerance):
            reset = " reset" if not np.any(now) and np.any(value) else " differs after reload"
            found.append(Divergence("optimizer", f"{_slot_words(path, optimizer_name)}{reset} "
                                                 f"(max |value| {np.abs(value).max():.3g} before saving, {np.abs(now).max():.3g} after reload)"))
    lora = lora_layers(saved.weights)
    lora_lost: dict[str, list[str]] = {}
    first_weight = len(found)
    for path, value in saved.weights.items():
        now = reloaded.weights.get(path)
        if now is None or not _close(value, now, tolerance):
            owner = path.rsplit("/", 1)[0]
            if owner in lora:
                lora_lost.setdefault(owner, []).append(path.rsplit("/", 1)[-1])
                continue
            layer = path.split("/")[0]
            found.append(Divergence("weights", f"weight {path!r} differs right after reload: "
                                               f"layer {layer!r} holds state that the format does not save"))
    found[first_weight:first_weight] = [
        Divergence("weights", f"the LoRA factors of layer {owner!r} restart after reload ({', '.join(names)} differ): "
                              "Keras merges LoRA into the kernel when it saves and reloads fresh factors, so the merged "
                              "kernel carries what they learned and LoRA training does not resume where it stopped")
        for owner, names in lora_lost.items()]
    for layer, values in saved_python.items():
        for attribute, value in values.items():
            now = reloaded_python.get(layer, {}).get(attribute)
            if now is None or not _close(np.asarray(value), np.asarray(now), tolerance):
                found.append(Divergence("state", f"layer {layer!r} attribute {attribute!r} is {_short(now)} after reload "
                                                 f"(was {_short(value)}): layer {layer!r} holds training state that the format does not save"))
    for step, (want, got) in enumerate(zip(reference_rates, rates), start=1):
        if not np.isclose(want, got, rtol=tolerance[0], atol=tolerance[1]):
            found.append(Divergence("learning_rate", f"learning rate differs from step {step} on (expected {want:.6g}, got {got:.6g}): "
                                                     "the schedule position was not restored"))
            break
    for step, (want, got) in enumerate(zip(reference_losses, losses), start=1):
        if not np.isclose(want, got, rtol=max(tolerance[0], 1e-6), atol=tolerance[1]):
            found.append(Divergence("loss", f"loss differs from step {step} on (expected {want:.6g}, got {got:.6g}"
                                            f"; training resumed at step {steps_before + 1})"))
            break
    for kind, expected, actual in (("weights", reference.weights, final.weights), ("optimizer", reference.optimizer, final.optimizer)):
        differing = [p for p in expected if p not in actual or not _close(expected[p], actual[p], tolerance)]
        if differing:
            found.append(Divergence("final", f"after training, {len(differing)} of {len(expected)} {kind} variables differ "
                                             f"from the uninterrupted run (e.g. {differing[0]!r})"))
    return found


def lora_layers(weights: dict[str, Any]) -> set[str]:
    """The layers (by path) holding LoRA factors (``layer.enable_lora``) among ``weights``' paths.

    Example:
        >>> sorted(lora_layers({"m/dense/kernel": 0, "m/dense/lora_kernel_a": 0, "m/dense/lora_kernel_b": 0, "m/d2/kernel": 0}))
        ['m/dense']
    """
    return {path.rsplit("/", 1)[0] for path in weights if path.endswith(("/lora_kernel_a", "/lora_kernel_b"))}


def _short(value: Any) -> str:
    if value is None:
        return "missing"
    array = np.asarray(value)
    return repr(array.item()) if array.size == 1 else f"array of shape {array.shape}"
