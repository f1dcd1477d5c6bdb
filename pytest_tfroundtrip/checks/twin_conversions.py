"""Which of a check's formats are converted in workers from the model's twin, and whether they may be.

The conversions that read a live model (``export`` and what Keras builds on
it: TFLite, LiteRT, ONNX, OpenVINO) are most of a large model's check, and in
this process they run one after another.  The ``.keras`` round trip of the
same check reloads the model in a worker; when it passed bit for bit (every
output on every input, the weights compared) and the worker then finds the
reload's fingerprint equal to the original's (config, every variable, the
export signature: :mod:`~pytest_tfroundtrip.formats.twin`), that reload is
the model as far as Keras can tell, and Keras converts it as it would the
original, in parallel.  Otherwise every conversion starts from the original
here, as without workers.  ``convert_from_twin=False`` turns it off.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.checks.one_format import FormatRun
from pytest_tfroundtrip.formats import get_format
from pytest_tfroundtrip.formats.base import RoundTripFormat
from pytest_tfroundtrip.formats.twin import fingerprint_of
from pytest_tfroundtrip.isolation.conversion import ConversionRequest, TwinSource, release_twin
from pytest_tfroundtrip.isolation.remote import Lease
from pytest_tfroundtrip.results.report import PASSED, FormatResult

TWIN_FROM = "keras"
_TWIN_HANDLES = itertools.count(10**9)  # twins' handles in a worker, apart from the loads' (isolation.remote counts those from 1)
WAITING, PROVED, REFUSED = "waiting for the keras verdict", "proved", "refused"


def _no_note(note: str) -> None:
    return None


@dataclass(frozen=True)
class TwinSettings:
    """Whether a check may convert from a twin (``convert_from_twin``), and who takes the report's note about it."""

    enabled: bool = True
    on_note: Callable[[str], None] = _no_note


@dataclass
class TwinConversions:
    """One check's formats to convert from the twin, and where that stands (mutable: the check's loop updates it)."""

    pending: list[RoundTripFormat]
    run: FormatRun
    state: str = WAITING
    source: TwinSource | None = None
    why_not: str | None = None
    converted: list[str] = field(default_factory=list)
    judged_again: list[str] = field(default_factory=list)  # failed from the twin: judged again from the original
    used: list[Lease] = field(default_factory=list)

    def keras_judged(self, result: FormatResult) -> None:
        """Decide from the ``keras`` verdict: a twin only after an exact pass, its file kept until the conversions end.

        Refused, the pending formats stay pending for the caller to take with :meth:`refuse`.
        """
        if self.state != WAITING:
            return
        if result.status != PASSED or result.max_abs_error != 0.0 or result.examples == 0 or result.artifact is None:
            self.state, self.why_not = REFUSED, "the keras round trip was not an exact pass" if result.status == PASSED else None
            return
        try:
            expected = fingerprint_of(self.run.subject.model)
        except Exception as error:  # the original's own config or variables cannot be read: no twin can match it
            self.state, self.why_not = REFUSED, f"the original's fingerprint cannot be read ({type(error).__name__})"
            return
        self.state, self.source = PROVED, TwinSource(result.artifact, expected, next(_TWIN_HANDLES))

    def refuse(self, why: str | None) -> list[RoundTripFormat]:
        """No twin for this check (``why`` for the report, None when the keras verdict says it): the pending formats,
        now for this process to convert from the original."""
        if self.state != REFUSED:
            self.state, self.why_not = REFUSED, why
        taken, self.pending = self.pending, []
        return taken

    def request_for(self, fmt: RoundTripFormat) -> ConversionRequest:
        assert self.source is not None
        subject = self.run.subject
        return ConversionRequest(fmt.name, self.run.workdir / fmt.name, self.source, subject.signature,
                                 subject.output_template, subject.user_input_signature)

    def finish(self, keras_result: FormatResult) -> FormatResult:
        """Release the twins and let go of the ``.keras`` file kept for them; ``keras_result`` without it if it passed."""
        for lease in dict.fromkeys(self.used):
            if self.source is not None:
                release_twin(lease, self.source)
        self.used = []
        if self.run.keep_artifacts or keras_result.status != PASSED:
            return keras_result
        shutil.rmtree(self.run.workdir / TWIN_FROM, ignore_errors=True)
        return replace(keras_result, artifact=None)

    def note(self) -> str | None:
        """What the report says: which formats were converted from a twin, or why none could be (when not obvious)."""
        again = (f"; {', '.join(self.judged_again)} failed converted from the twin and "
                 f"{'was' if len(self.judged_again) == 1 else 'were'} judged again from the original" if self.judged_again else "")
        if self.converted:
            converted = sorted(self.converted, key=lambda name: get_format(name).order)  # the formats' order, not the workers'
            return (f"{', '.join(converted)} converted in a worker from the model's twin: the .keras reload that passed "
                    "bit for bit, with the original's config, variables and export signature (convert_from_twin=False "
                    f"converts the original here){again}")
        if self.why_not is not None:
            return f"every conversion made here from the original, not from a twin: {self.why_not}"
        return f"every conversion made here from the original{again}" if again else None


def plan_twin_conversions(formats: tuple[RoundTripFormat, ...], run: FormatRun, enabled: bool) -> TwinConversions | None:
    """The conversions a check of ``formats`` may hand to workers once ``keras`` has passed (None when none may)."""
    here = _lazy.process_backend()
    if not enabled or not any(fmt.name == TWIN_FROM for fmt in formats) or _is_keras2(run.subject.model):
        return None
    pending = [fmt for fmt in formats if fmt.converts_live_model and fmt.keras_backend == here]
    return TwinConversions(pending, run) if pending else None


def _is_keras2(model: Any) -> bool:
    return bool(_lazy.is_keras2_model(model))
