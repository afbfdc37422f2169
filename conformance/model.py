"""The conformance check model: rules, check results and scenarios.

A *rule* is one spec requirement (version, section, MUST/SHOULD/MAY). A *scenario* is a small
async function that talks to the implementation under test and judges some rules through its
`Context`. A MUST rule that is not met is a FAIL; a SHOULD or MAY rule that is not met is a WARN.
A rule the implementation cannot be tested for (it lacks a feature the check needs) is SKIP.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CheckResult",
    "HandshakeFailed",
    "Level",
    "Rule",
    "Scenario",
    "Status",
    "Unsupported",
]


class Level(enum.Enum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


class Status(enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"  # a MUST rule was broken
    WARN = "WARN"  # a SHOULD/MAY rule was not met
    SKIP = "SKIP"  # the implementation lacks what the check needs
    ERROR = "ERROR"  # the scenario could not run to the point of judging the rule


@dataclass(frozen=True, slots=True)
class Rule:
    """One spec requirement. ``id`` is unique across the suite; ``section`` names the spec page
    and heading (e.g. ``basic/transports §Resumability and Redelivery``)."""

    id: str
    level: Level
    version: str
    section: str
    text: str

    @property
    def citation(self) -> str:
        return f"{self.level.value} {self.version} {self.section}"


@dataclass(slots=True)
class CheckResult:
    scenario: str
    rule: Rule
    status: Status
    message: str = ""
    sent: str | None = None
    received: str | None = None
    expected: str | None = None
    duration: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.scenario}/{self.rule.id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "check": self.rule.id,
            "status": self.status.value,
            "level": self.rule.level.value,
            "version": self.rule.version,
            "section": self.rule.section,
            "rule": self.rule.text,
            "message": self.message,
            "sent": self.sent,
            "received": self.received,
            "expected": self.expected,
            "duration": round(self.duration, 3),
        }


class Unsupported(Exception):
    """Raised inside a scenario when the implementation lacks what the remaining checks need;
    the runner reports those checks as SKIP with this message."""


class HandshakeFailed(Exception):
    """Raised when the target does not complete an MCP handshake (it does not start, crashes, is
    unreachable or does not speak MCP). Nothing can be judged, so every check the scenario (or,
    from the runner's preflight, the whole run) has not judged yet is an ERROR, never a SKIP."""


ScenarioFn = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named group of checks. ``era`` is "legacy", "modern" or "any"; ``target`` is "http",
    "stdio" or "client". ``rules`` lists every rule the scenario may judge, so rules it never
    reached are still reported."""

    name: str
    era: str
    target: str
    summary: str
    rules: tuple[Rule, ...]
    run: ScenarioFn
