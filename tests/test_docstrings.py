"""Every example in the package's docstrings runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import pytest_tfroundtrip

MODULES = sorted(
    name for _finder, name, _is_package in pkgutil.walk_packages(pytest_tfroundtrip.__path__, "pytest_tfroundtrip.")
)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    failures, _tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0, f"{failures} docstring example(s) failed in {module_name}"
