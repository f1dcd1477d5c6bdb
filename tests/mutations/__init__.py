"""The defect catalogue as code: mutations that turn a sound model into a defective one.

:mod:`tests.mutations.defect_layers` holds the defective layers (and their sound
twins) and the model-level builders; :mod:`tests.mutations.catalogue` lists them
with their sources and the check that must catch each.
"""
