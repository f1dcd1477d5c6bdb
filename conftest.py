"""Settings shared by our tests and the examples.

Hypothesis profiles: "ci" (default; few examples so CI stays well under its
time budget) and "nightly" (many examples).  Choose with
``--hypothesis-profile=nightly``.  They set ``max_examples`` for our own
``@given`` tests; round-trip checks take theirs from ``--tf-roundtrip-max-examples``.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is first imported

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True,  # CI runs fixed seeds
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("nightly", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
