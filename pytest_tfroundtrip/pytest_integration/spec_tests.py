"""The tests pytest collects for ``--tf-roundtrip-model=SPEC``: one per spec and check, no test file needed.

``pytest --tf-roundtrip-model=keras_hub:BertBackbone`` collects
``roundtrip[keras_hub:BertBackbone]``, ``custom_objects[...]`` and
``resume_training[...]``.  The model is built in the setup of its first test
(a build that raises is an error of that spec, never a finding) and shared by
its checks; ``resume_training`` is skipped for a model the spec does not compile.
When model specs are given and no test paths, the project's own tests are not
collected.

Example (a shell)::

    pytest --tf-roundtrip-model=keras_hub:BertBackbone --tf-roundtrip-model=keras_applications:MobileNetV3Small
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pytest_tfroundtrip.errors import RoundTripError, RoundTripUsageError
from pytest_tfroundtrip.pytest_integration.settings import CUSTOM_OBJECTS, ROUNDTRIP, keep_artifacts, settings_for


def spec_items(session: pytest.Session, specs: list[str], checks: tuple[str, ...]) -> list[pytest.Item]:
    """One item per spec and check, in the order given (a spec's checks together, so its model is built once)."""
    from pytest_tfroundtrip.zoo.specs import parse_model_spec

    items: list[pytest.Item] = []
    for text in specs:
        spec = parse_model_spec(text)  # a malformed spec stops collection with its usage error
        items.extend(ModelSpecCheck.from_parent(session, name=f"{check}[{spec.text}]", nodeid=f"{check}[{spec.text}]",
                                                spec_text=spec.text, check=check) for check in checks)
    return items


class _BuiltModels:
    """The model of the spec being checked; the previous spec's model is dropped when the next one is built."""

    def __init__(self) -> None:
        self.spec: str | None = None
        self.built: Any = None
        self.error: BaseException | None = None

    def get(self, spec: str, config: pytest.Config) -> Any:
        if spec != self.spec:
            self.spec, self.built, self.error = spec, None, None
            _release_keras_state()
            from pytest_tfroundtrip.zoo.building import build_from_spec

            try:
                self.built = build_from_spec(spec, pretrained=bool(config.getoption("tf_roundtrip_pretrained")),
                                             fit_steps=int(config.getoption("tf_roundtrip_model_fit") or 0))
            except BaseException as error:
                self.error = error
        if self.error is not None:
            raise self.error
        return self.built


def _release_keras_state() -> None:
    """Drop what Keras keeps of the previous spec's model (its graph state), so a long list of specs stays small."""
    import gc
    import sys

    gc.collect()
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()


BUILT = _BuiltModels()


class ModelSpecCheck(pytest.Item):
    """One check of the model a spec names."""

    def __init__(self, *, spec_text: str, check: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec_text = spec_text
        self.check = check
        self.built: Any = None

    def setup(self) -> None:
        self.built = BUILT.get(self.spec_text, self.config)

    def runtest(self) -> None:
        __tracebackhide__ = True
        from pytest_tfroundtrip.zoo.model_inputs import parse_model_inputs

        model = self.built.model
        settings = settings_for(self.config, None)
        directory = self.config._tmp_path_factory.mktemp(re.sub(r"[^\w.-]", "_", self.name)[:40], numbered=True)  # type: ignore[attr-defined]
        common = {"artifacts_dir": directory, "keep_artifacts": keep_artifacts(self.config)}
        if self.check == ROUNDTRIP:
            from pytest_tfroundtrip.checks.roundtrip import check_roundtrip

            among = self.config.getoption("tf_roundtrip_model_formats")
            if among and "formats" not in settings:
                from pytest_tfroundtrip.formats import AmongFormats, parse_format_names

                settings["formats"] = AmongFormats(tuple(parse_format_names(among)))
            given = parse_model_inputs(self.config.getoption("tf_roundtrip_model_inputs") or self.built.model_inputs)
            check_roundtrip(model, inputs=settings.pop("inputs", None) or given, rebuild=self.built.rebuild, **settings, **common)
        elif self.check == CUSTOM_OBJECTS:
            from pytest_tfroundtrip.checks.custom_objects import check_custom_objects

            chosen = {k: v for k, v in settings.items() if k in ("formats", "max_examples", "seed")}
            check_custom_objects(model, **chosen, **common)
        else:
            if getattr(model, "optimizer", None) is None:
                pytest.skip(f"{self.spec_text} builds an uncompiled model: resuming training needs a compiled one "
                            "(keras-hub tasks are compiled; for others pass a factory that compiles the model)")
            from pytest_tfroundtrip.checks.resume import check_resume_training
            from pytest_tfroundtrip.errors import TrainingDataUnsuitable

            chosen = {k: v for k, v in settings.items() if k in ("formats", "seed", "reload_in")}
            try:
                check_resume_training(model, rebuild=self.built.rebuild, **chosen, **common)
            except TrainingDataUnsuitable as error:  # no data to train it on: nothing was judged
                pytest.skip(f"{self.spec_text}: {error}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (RoundTripError, RoundTripUsageError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        return self.spec_text, None, f"{self.check} of {self.spec_text}"
