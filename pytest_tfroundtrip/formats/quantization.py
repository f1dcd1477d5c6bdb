"""Quantized TFLite/LiteRT conversion: what each mode asks of the converter.

``dynamic_int8`` stores weights as int8 and computes activations in float
(dynamic-range quantization); ``float16`` stores weights as float16;
``int8`` quantizes weights and activations to int8 with ranges calibrated on
a representative dataset, using only integer built-in ops, with float32
inputs and outputs (the interpreter quantizes at the edges).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.errors import RoundTripUsageError

DYNAMIC_INT8 = "dynamic_int8"
FLOAT16 = "float16"
INT8 = "int8"
MODES = (DYNAMIC_INT8, FLOAT16, INT8)


def validate_mode(mode: object) -> str:
    """The quantization mode, or a usage error naming the modes.

    Example:
        >>> validate_mode("int8")
        'int8'
    """
    if mode not in MODES:
        raise RoundTripUsageError(f"quantization mode must be one of {list(MODES)}, got {mode!r}")
    return str(mode)


@dataclass(frozen=True)
class QuantizedConversion:
    """A mode, and for ``int8`` the representative inputs to calibrate on.

    The converter prepares its calibration interpreter for the first
    sample's shapes, so every sample must have the same shapes; each holds
    the inputs by the model's input names (the adapters export quantized
    models with those names).
    """

    mode: str
    representative: tuple[Mapping[str, np.ndarray], ...] = ()

    def converter_settings(self) -> dict[str, Any]:
        """Attributes to set on a ``tf.lite.TFLiteConverter`` (``target_spec`` as a dict of its attributes)."""
        tf = _lazy.tensorflow()
        settings: dict[str, Any] = {"optimizations": [tf.lite.Optimize.DEFAULT]}
        if self.mode == FLOAT16:
            settings["target_spec"] = {"supported_types": [tf.float16]}
        elif self.mode == INT8:
            settings["representative_dataset"] = self._representative_dataset
            settings["target_spec"] = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]}
        return settings

    def _representative_dataset(self) -> Iterator[dict[str, np.ndarray]]:
        yield from (dict(inputs) for inputs in self.representative)

    def apply(self, converter: Any) -> None:
        """Set :meth:`converter_settings` on a converter."""
        for name, value in self.converter_settings().items():
            if name == "target_spec":
                for spec_name, spec_value in value.items():
                    setattr(converter.target_spec, spec_name, spec_value)
            else:
                setattr(converter, name, value)
