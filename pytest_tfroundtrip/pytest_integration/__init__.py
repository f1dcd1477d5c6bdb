"""The parts of the pytest plugin: options, settings, fixtures, reporting, and the ``--tf-roundtrip-model`` tests.

:mod:`pytest_tfroundtrip.plugin` (the ``pytest11`` entry point) ties them
together.  Importing them imports neither TensorFlow, Keras nor hypothesis.
"""
