"""Our tests keep the artifacts of deliberately failing checks under pytest's basetemp
(rotated by pytest), not in the system temporary directory."""

import tempfile

import pytest


@pytest.fixture(scope="session", autouse=True)
def temporary_files_under_basetemp(tmp_path_factory):
    previous = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("system-tmp"))
    yield
    tempfile.tempdir = previous
