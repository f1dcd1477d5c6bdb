"""Models by name: keras-hub and keras.applications architectures, built small, and the zoo of them.

A *model spec* is what ``pytest --tf-roundtrip-model=SPEC`` and
``tf-roundtrip check SPEC`` take:

- ``keras_hub:ClassName`` a keras-hub backbone or task at a tiny size
  (:mod:`~pytest_tfroundtrip.zoo.keras_hub_tiny`), random weights;
  ``keras_hub:ClassName@preset`` loads that preset (with ``pretrained``);
- ``keras_applications:Name`` or ``keras_applications:Name@96`` (input size);
- ``package.module:factory`` and ``path/to/file.py:factory``;
- a ``.keras``/``.h5`` file or a SavedModel directory.

Importing this package imports neither TensorFlow, Keras nor keras-hub.

Example:
    >>> parse_model_spec("keras_hub:BertBackbone").name
    'BertBackbone'
"""

from __future__ import annotations

from pytest_tfroundtrip.zoo.specs import ModelSpec, parse_model_spec

__all__ = ["ModelSpec", "parse_model_spec"]
