"""Write a run as JSON, Markdown or JUnit XML."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from .model import Status
from .runner import RunResult

__all__ = ["FORMATS", "render", "write_report"]

FORMATS = ("json", "markdown", "junit")


def render(run: RunResult, fmt: str) -> str:
    if fmt == "json":
        return _json(run)
    if fmt == "markdown":
        return _markdown(run)
    if fmt == "junit":
        return _junit(run)
    raise ValueError(f"unknown report format {fmt!r} (use one of {', '.join(FORMATS)})")


def write_report(run: RunResult, fmt: str, path: str) -> None:
    Path(path).write_text(render(run, fmt), encoding="utf-8")


def _json(run: RunResult) -> str:
    doc = {
        "target": run.target,
        "era": run.era,
        "summary": dict(run.counts),
        "exit_code": run.exit_code,
        "checks": [r.as_dict() for r in run.results],
    }
    return json.dumps(doc, indent=2) + "\n"


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _markdown(run: RunResult) -> str:
    c = run.counts
    lines = [
        f"# Conformance: `{run.target}`",
        "",
        f"Era: {run.era}. **{'OK' if run.exit_code == 0 else 'FAILED'}**: "
        f"{c['PASS']} passed, {c['FAIL']} failed, {c['WARN']} warnings, {c['SKIP']} skipped, "
        f"{c['ERROR']} errors.",
        "",
        "| status | check | rule | detail |",
        "|---|---|---|---|",
    ]
    for r in run.results:
        detail = r.message
        if r.status in (Status.FAIL, Status.WARN, Status.ERROR):
            parts = [r.message] + [
                f"{k}: {v}"
                for k, v in (("sent", r.sent), ("received", r.received), ("expected", r.expected))
                if v
            ]
            detail = "<br>".join(_cell(p) for p in parts if p)
        lines.append(f"| {r.status.value} | `{r.name}` | {_cell(r.rule.citation)} | {_cell(detail)} |")
    return "\n".join(lines) + "\n"


def _junit(run: RunResult) -> str:
    c = run.counts
    suite = ET.Element(
        "testsuite",
        name=f"mcp-conformance {run.target}",
        tests=str(len(run.results)),
        failures=str(c["FAIL"]),
        errors=str(c["ERROR"]),
        skipped=str(c["SKIP"]),
        time=f"{max(0.0, run.finished - run.started):.3f}",
    )
    for r in run.results:
        case = ET.SubElement(
            suite, "testcase", classname=r.scenario, name=r.rule.id, time=f"{r.duration:.3f}"
        )
        text = "\n".join(
            f"{k}: {v}"
            for k, v in (
                ("rule", f"{r.rule.citation}: {r.rule.text}"),
                ("why", r.message),
                ("sent", r.sent),
                ("received", r.received),
                ("expected", r.expected),
            )
            if v
        )
        if r.status is Status.FAIL:
            ET.SubElement(case, "failure", message=r.message or r.rule.text).text = text
        elif r.status is Status.ERROR:
            ET.SubElement(case, "error", message=r.message).text = text
        elif r.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=r.message)
        elif r.status is Status.WARN:
            ET.SubElement(case, "system-out").text = "WARNING (SHOULD not met)\n" + text
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
