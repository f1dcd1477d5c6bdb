"""Properties of the checker on generated models, judged by the independent oracle (:mod:`tests.oracle`)."""
