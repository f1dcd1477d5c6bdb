"""The checks: round trip, custom objects, resume training, and the hypothesis search they share.

Imported only when a check runs (they import NumPy, hypothesis and, lazily, TensorFlow).
"""
