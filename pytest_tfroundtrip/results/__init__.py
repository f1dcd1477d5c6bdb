"""Comparing outputs, tolerances, result objects and failure text."""
