"""JUnit XML from check records: the key figures CI dashboards show per test, and a whole file for merged shards."""

from __future__ import annotations

import re
from typing import Any


def junit_properties(checks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(name, value)`` pairs for JUnit XML: one per check and one per format in it.

    Example:
        >>> junit_properties([{"kind": "roundtrip", "passed": True, "seconds": 1.5, "formats": [
        ...     {"label": "keras", "verdict": "passed", "max_abs_error": 0.0, "examples": 12}]}])
        [('tf_roundtrip.roundtrip', 'passed; 1 formats; 1.5 s'), ('tf_roundtrip.roundtrip.keras', 'passed; max_abs_error=0; examples=12')]
    """
    properties = []
    for index, check in enumerate(checks):
        prefix = f"tf_roundtrip.{check['kind']}" + (f"[{index}]" if index else "")
        properties.append((prefix, f"{'passed' if check['passed'] else 'failed'}; {len(check['formats'])} formats; "
                                   f"{check.get('seconds', 0):g} s"))
        for entry in check["formats"]:
            figures = [entry["verdict"]]
            if entry.get("max_abs_error") is not None and entry["verdict"] in ("passed", "failed"):
                figures.append(f"max_abs_error={entry['max_abs_error']:.3g}")
            if entry.get("examples"):
                figures.append(f"examples={entry['examples']}")
            if entry.get("stage") and entry["verdict"] != "passed":
                figures.append(f"stage={entry['stage']}")
            properties.append((f"{prefix}.{entry['label']}", "; ".join(figures)))
    return properties


TARGET_PREFIX = "\0target:"  # keys a check of tf-roundtrip check (no test id) apart from any test id
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def junit_xml(checks: list[dict[str, Any]], suite: str = "tf-roundtrip") -> str:
    """A JUnit XML document of check records: one testcase per test, as pytest names it (per target for checks of
    ``tf-roundtrip check``, in the class ``tf-roundtrip check``).

    A testcase has the properties :func:`junit_properties` gives pytest's
    ``--junitxml``, and a ``<failure>`` when one of its checks failed (with
    each failing format's message).  Tests that ran no check are not known here.

    Example:
        >>> print(junit_xml([{"test": "tests/test_m.py::test_a", "kind": "roundtrip", "passed": True, "seconds": 1.5,
        ...     "formats": [{"label": "keras", "verdict": "passed", "max_abs_error": 0.0}]}]))
        <?xml version="1.0" encoding="utf-8"?>
        <testsuites name="tf-roundtrip">
          <testsuite name="tf-roundtrip" tests="1" failures="0" errors="0" skipped="0" time="1.500">
            <testcase classname="tests.test_m" name="test_a" time="1.500">
              <properties>
                <property name="tf_roundtrip.roundtrip" value="passed; 1 formats; 1.5 s" />
                <property name="tf_roundtrip.roundtrip.keras" value="passed; max_abs_error=0" />
              </properties>
            </testcase>
          </testsuite>
        </testsuites>
    """
    import xml.etree.ElementTree as ET

    per_test: dict[str, list[dict[str, Any]]] = {}
    for check in checks:
        per_test.setdefault(check["test"] if isinstance(check.get("test"), str) else TARGET_PREFIX + check["target"],
                            []).append(check)
    cases = [_testcase(test, test_checks) for test, test_checks in per_test.items()]
    seconds = sum(check.get("seconds", 0) for check in checks)
    failures = sum(1 for case in cases if case.find("failure") is not None)
    suite_node = ET.Element("testsuite", name=suite, tests=str(len(cases)), failures=str(failures), errors="0",
                            skipped="0", time=f"{seconds:.3f}")
    suite_node.extend(cases)
    root = ET.Element("testsuites", name=suite)
    root.append(suite_node)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def _testcase(test: str, checks: list[dict[str, Any]]) -> Any:
    import xml.etree.ElementTree as ET

    if test.startswith(TARGET_PREFIX):  # a tf-roundtrip check file's: named by the target it checked
        names = ["tf-roundtrip check", test.removeprefix(TARGET_PREFIX)]
    else:
        head, bracket, params = test.partition("[")  # pytest's classname/name: the file as a dotted path, then the names
        names = head.split("::")
        names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
        names[-1] += bracket + params
    seconds = sum(check.get("seconds", 0) for check in checks)
    case = ET.Element("testcase", classname=".".join(names[:-1]), name=_xml_text(names[-1]), time=f"{seconds:.3f}")
    properties = ET.SubElement(case, "properties")
    for name, value in junit_properties(checks):
        ET.SubElement(properties, "property", name=name, value=_xml_text(value))
    failed = [check for check in checks if not check["passed"]]
    if failed:
        labels = [entry["label"] for check in failed for entry in check["formats"] if entry["verdict"] in ("failed", "error")]
        failure = ET.SubElement(case, "failure", message=f"{len(failed)} of {len(checks)} tf-roundtrip checks failed"
                                + (f": {', '.join(dict.fromkeys(labels))}" if labels else ""))
        texts = [f"[{entry['label']}] {entry.get('message') or entry['verdict']}" for check in failed
                 for entry in check["formats"] if entry["verdict"] in ("failed", "error")]
        texts += [finding for check in failed for finding in check.get("findings", ())]  # custom objects
        failure.text = _xml_text("\n\n".join(texts) or "the check failed")
    return case


def _xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (terminal colour codes in a message), shown as ``#xNN``."""
    return _NOT_XML.sub(lambda match: f"#x{ord(match.group()):02X}", text)
