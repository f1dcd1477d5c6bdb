"""Memory and disk bounded by the model: one format at a time, its files gone once it passed."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import keras
import numpy as np
import pytest

from pytest_tfroundtrip import RoundTripError, check_custom_objects, check_resume_training, check_roundtrip
from pytest_tfroundtrip.checks import one_format, roundtrip
from pytest_tfroundtrip.checks.output_cache import OutputCache
from pytest_tfroundtrip.formats import get_format, tflite
from pytest_tfroundtrip.formats.base import KerasReload

from .models import mlp
from .test_diagnosis import blocks_model


def _format_dirs_with_files(root: Path) -> set[str]:
    """Format directories (``<check dir>/<format>``) under ``root`` that still hold files."""
    return {d.name for check in root.iterdir() if check.is_dir() for d in check.iterdir()
            if d.is_dir() and any(p.is_file() for p in d.rglob("*"))}


def _record_at_each_save(monkeypatch, names, root: Path, method: str = "save") -> list[tuple[str, set[str]]]:
    """Wrap each format's ``method``: record which other formats' files exist when it starts saving."""
    seen: list[tuple[str, set[str]]] = []
    for name in names:
        fmt = get_format(name)
        original = getattr(fmt, method)

        def recording(*args, _name=name, _original=original):
            seen.append((_name, _format_dirs_with_files(root) - {_name}))
            return _original(*args)

        monkeypatch.setattr(fmt, method, recording)
    return seen


FORMATS = ["keras", "savedmodel", "weights", "tflite"]


def test_a_passing_formats_files_are_gone_before_the_next_format_saves(monkeypatch, tmp_path):
    seen = _record_at_each_save(monkeypatch, FORMATS, tmp_path)
    check_roundtrip(mlp(), formats=FORMATS, max_examples=3, seed=0, artifacts_dir=tmp_path, reload_in="process")
    assert [name for name, _ in seen] == FORMATS
    assert all(not others for _name, others in seen), seen


@pytest.mark.parametrize("workers", [1, 2])
def test_in_workers_at_most_two_formats_per_worker_have_files_when_another_saves(monkeypatch, tmp_path, workers):
    """A worker of a small model holds the format it answers for and the next (see checks/in_workers.py); besides,
    the keras file stays while twins may be reloaded from it, and the export's while TFLite is converted from it."""
    names = FORMATS + ["h5", "export", "checkpoint"]
    seen = _record_at_each_save(monkeypatch, names, tmp_path)
    report = check_roundtrip(mlp(), formats=names, max_examples=3, seed=0, artifacts_dir=tmp_path, workers=workers)
    elsewhere = {result.format for result in report.results if result.saved_from_twin}
    if "tflite converted in a worker from the export format's directory" in " ".join(report.notes):
        elsewhere.add("tflite")
    assert sorted([name for name, _ in seen] + sorted(elsewhere)) == sorted(names)
    assert max(len(others) for _name, others in seen) <= 2 * workers + 2, seen
    assert not any(_format_dirs_with_files(tmp_path))


def test_kept_artifacts_stay_for_every_format(monkeypatch, tmp_path):
    seen = _record_at_each_save(monkeypatch, FORMATS, tmp_path)
    report = check_roundtrip(mlp(), formats=FORMATS, max_examples=3, seed=0, artifacts_dir=tmp_path, keep_artifacts=True,
                             convert_from_twin=False)  # every save in this process, where the test watches them
    assert seen[-1][1] == set(FORMATS[:-1])
    assert all(result.artifact.exists() for result in report.results)


def test_a_failing_format_keeps_its_files_and_the_passing_ones_do_not(tmp_path):
    with pytest.raises(RoundTripError) as raised:
        check_roundtrip(blocks_model(), formats=["keras", "checkpoint", "weights"], max_examples=5, seed=0, artifacts_dir=tmp_path)
    report = raised.value.report
    assert [r.format for r in report.failed] == ["checkpoint"]
    assert _format_dirs_with_files(tmp_path) == {"checkpoint"}
    assert report.result_for("checkpoint").artifact.exists()
    assert report.result_for("keras").artifact is None and report.result_for("weights").artifact is None


def test_a_formats_reloaded_model_is_released_before_the_next_format_saves(monkeypatch):
    monkeypatch.setattr(one_format, "COLLECT_FROM_BYTES", 0)  # collect as for a large model
    names = ["keras", "weights", "checkpoint"]
    reloaded: list[weakref.ref] = []
    alive_at_save: list[int] = []
    for name in names:
        fmt = get_format(name)
        load, save = fmt.load, fmt.save

        def recording_load(subject, artifact, _load=load):
            call = _load(subject, artifact)
            assert isinstance(call, KerasReload)
            reloaded.append(weakref.ref(call.model))
            return call

        def recording_save(subject, directory, _save=save):
            alive_at_save.append(sum(ref() is not None for ref in reloaded))
            return _save(subject, directory)

        monkeypatch.setattr(fmt, "load", recording_load)
        monkeypatch.setattr(fmt, "save", recording_save)
    check_roundtrip(mlp(), formats=names, max_examples=3, seed=0)
    assert alive_at_save == [0, 0, 0]
    gc.collect()
    assert all(ref() is None for ref in reloaded)


def _count_original_calls(monkeypatch) -> list[int]:
    calls = [0]
    original = roundtrip.call_keras_model

    def counting(*args):
        calls[0] += 1
        return original(*args)

    monkeypatch.setattr(roundtrip, "call_keras_model", counting)
    return calls


def test_the_original_model_runs_once_per_input_whatever_the_number_of_formats(monkeypatch):
    calls = _count_original_calls(monkeypatch)
    check_roundtrip(mlp(), formats=["keras"], max_examples=8, seed=3)
    one_format = calls[0]
    calls[0] = 0
    check_roundtrip(mlp(), formats=["keras", "weights", "checkpoint", "export"], max_examples=8, seed=3)
    assert calls[0] == one_format > 8


def test_without_a_seed_the_formats_still_share_their_inputs(monkeypatch):
    calls = _count_original_calls(monkeypatch)
    report = check_roundtrip(mlp(), formats=["keras", "weights"], max_examples=6)
    keras_examples = report.result_for("keras").examples
    assert report.result_for("weights").examples == keras_examples
    # Not once per format (a repeated draw is a cache hit); the one extra call per check is the second call on
    # the first input that rules out state changing at inference.
    assert calls[0] <= keras_examples + 1


def test_the_output_cache_keeps_the_most_recent_outputs_within_its_bytes():
    cache = OutputCache(max_bytes=1000)
    for key in "abcd":
        cache.put(key, {"y": np.zeros(50)})  # 400 bytes each: two fit
    assert [cache.get(k) is not None for k in "abcd"] == [False, False, True, True]
    assert cache.held_bytes == 800
    cache.put("huge", {"y": np.zeros(500)})  # larger than the whole budget: not kept, nothing evicted
    assert cache.get("huge") is None and len(cache) == 2


def test_tflite_keeps_one_interpreter_at_a_time(monkeypatch, tmp_path):
    made: list[weakref.ref] = []
    original = tflite.make_interpreter

    def recording(artifact):
        interpreter = original(artifact)
        made.append(weakref.ref(interpreter))
        return interpreter

    monkeypatch.setattr(tflite, "make_interpreter", recording)
    from pytest_tfroundtrip.checks.subject import prepare_subject

    subject = prepare_subject(mlp()).subject
    fmt = get_format("tflite")
    call = fmt.load(subject, fmt.save(subject, tmp_path))
    name = subject.signature.names[0]
    outputs = [call({name: np.ones((batch, 784), "float32")}) for batch in (1, 2, 3, 2)]
    gc.collect()
    assert len(made) == 5  # the signature lookup, then one per change of shape
    assert sum(ref() is not None for ref in made) == 1
    assert [o.shape for o in outputs] == [(1, 10), (2, 10), (3, 10), (2, 10)]


def test_custom_objects_check_deletes_each_formats_files_before_the_next(monkeypatch, tmp_path):
    names = ["keras", "savedmodel", "weights"]
    seen = _record_at_each_save(monkeypatch, names, tmp_path)
    check_custom_objects(mlp(), formats=names, max_examples=2, seed=0, artifacts_dir=tmp_path)
    assert [name for name, _ in seen] == names
    assert all(not others for _name, others in seen), seen


def _compiled_mlp() -> keras.Model:
    model = mlp()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def test_resume_check_deletes_each_formats_files_before_the_next(monkeypatch, tmp_path):
    names = ["keras", "weights", "checkpoint"]
    seen = _record_at_each_save(monkeypatch, names, tmp_path, method="save_for_training")
    with pytest.raises(RoundTripError) as raised:  # weights-only files do not keep Adam's state: a genuine failure
        check_resume_training(_compiled_mlp(), formats=names, artifacts_dir=tmp_path)
    assert raised.value.report.formats_passed == ("keras", "checkpoint")
    assert seen == [("keras", set()), ("weights", set()), ("checkpoint", {"weights"})]


def test_weights_are_read_for_comparison_without_a_copy_and_cannot_be_written():
    from pytest_tfroundtrip.formats.base import VariableValue

    variable = keras.Variable(np.arange(6, dtype="float32").reshape(2, 3))
    view = np.asarray(VariableValue(variable))
    assert view.tolist() == [[0, 1, 2], [3, 4, 5]] and VariableValue(variable).shape == (2, 3)
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0, 0] = 7.0
    assert float(variable.numpy()[0, 0]) == 0.0
    copied = np.array(VariableValue(variable))  # numpy.array asks for a copy: a writable one
    copied[0, 0] = 7.0
    assert float(variable.numpy()[0, 0]) == 0.0
