"""A legacy session as data: :class:`SessionRecord`, what every worker needs to serve any
request of the session, and its compact serialisation.

The live part of a session (dispatcher, running handlers, open HTTP responses) is not here:
it belongs to the worker that runs it. A record crosses processes, so it holds only plain
data and wall-clock times (``time.time()``; monotonic clocks are not comparable between
hosts).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import orjson

__all__ = [
    "BUSY_MARK",
    "UPDATABLE",
    "SessionRecord",
    "check_changes",
    "decode_fields",
    "encode_fields",
    "encode_record",
    "field_key",
]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One legacy session's shared state. Frozen: a store hands out copies, never a handle
    through which one task could change what another reads."""

    id: str
    principal: str | None = None  # the identity the session is bound to (fixed at creation)
    version: str | None = None  # the negotiated protocol version
    capabilities: Mapping[str, Any] = field(default_factory=dict)  # the client's capabilities
    client_info: Mapping[str, Any] = field(default_factory=dict)
    log_level: str | None = None  # set by logging/setLevel
    subscriptions: frozenset[str] = frozenset()  # resources/subscribe URIs
    get_stream: str | None = None  # the standalone GET stream's id in the event log
    get_holder: str | None = None  # the worker whose HTTP response now tails that stream
    ready: bool = False  # initialize completed (initialized notification or a later request)
    created: float = 0.0  # wall clock
    last_active: float = 0.0  # wall clock: when the last request on it started or ended
    # requests in flight plus open GET streams (in memory); on Redis the workers holding it busy
    busy: int = 0

    def __post_init__(self) -> None:
        # Given any iterable of URIs (update(subscriptions={...}) passes a set): keep it frozen.
        if type(self.subscriptions) is not frozenset:
            object.__setattr__(self, "subscriptions", frozenset(self.subscriptions))

    @classmethod
    def new(cls, session_id: str, principal: str | None = None, **data: Any) -> SessionRecord:
        """A record created now."""
        now = time.time()
        return cls(session_id, principal, **{"created": now, "last_active": now, **data})

    def touched(self, busy: int, last_active: float) -> SessionRecord:
        """This record with new bookkeeping (the memory store does this once per request).

        Built slot by slot through the slots' own descriptors: the frozen constructor sets
        each field with ``object.__setattr__`` (a type lookup and a check per field) and
        calls ``__post_init__``, ~21,000 instructions a copy against ~11,000 this way
        (callgrind, 20,000 copies); ``dataclasses.replace`` costs more than either. The
        result is as frozen as any other record."""
        (s_id, s_principal, s_version, s_caps, s_info, s_level, s_subs, s_get, s_holder, s_ready,
         s_created, s_last, s_busy) = _SLOT_SETTERS  # fmt: skip
        record = _new_object(SessionRecord)
        s_id(record, self.id)
        s_principal(record, self.principal)
        s_version(record, self.version)
        s_caps(record, self.capabilities)
        s_info(record, self.client_info)
        s_level(record, self.log_level)
        s_subs(record, self.subscriptions)
        s_get(record, self.get_stream)
        s_holder(record, self.get_holder)
        s_ready(record, self.ready)
        s_created(record, self.created)
        s_last(record, last_active)
        s_busy(record, busy)
        return record

    def to_json(self) -> bytes:
        """Compact JSON: short keys (the ones :func:`encode_fields` uses), ``id`` and ``b``."""
        out = {"id": self.id, "b": self.busy}
        out.update({_KEYS[name]: _plain(getattr(self, name)) for name in _STORED})
        return orjson.dumps(out)

    @classmethod
    def from_json(cls, data: bytes | str) -> SessionRecord:
        raw = orjson.loads(data)
        values = {name: raw[_KEYS[name]] for name in _STORED if _KEYS[name] in raw}
        return cls(raw["id"], busy=raw.get("b", 0), **values)


# SessionRecord.touched: the slot descriptors' setters, in field order.
_SLOT_SETTERS = tuple(SessionRecord.__dict__[f.name].__set__ for f in fields(SessionRecord))
_new_object = object.__new__

# What update() may change: everything the session learns after creation. id, principal
# and created are fixed; busy and last_active move only through acquire/release.
UPDATABLE = frozenset(
    {
        "version",
        "capabilities",
        "client_info",
        "log_level",
        "subscriptions",
        "get_stream",
        "get_holder",
        "ready",
    }
)
# Stored fields and their short keys (a Redis hash field each, a JSON key in to_json()).
_KEYS = {
    "principal": "p",
    "version": "v",
    "capabilities": "c",
    "client_info": "i",
    "log_level": "l",
    "subscriptions": "s",
    "get_stream": "g",
    "get_holder": "h",
    "ready": "r",
    "created": "t0",
    "last_active": "t",
}
_NAMES = {key: name for name, key in _KEYS.items()}
_STORED = tuple(f.name for f in fields(SessionRecord) if f.name in _KEYS)
# A Redis hash field "b:<worker>": that worker holds the session busy.
BUSY_MARK = "b:"


def _plain(value: Any, name: str = "") -> Any:
    """JSON-ready: the subscribed URIs become a sorted list (the same bytes for the same set,
    so a compare-and-set on them compares sets)."""
    return sorted(value) if name == "subscriptions" or isinstance(value, (set, frozenset)) else value


def check_changes(changes: Iterable[str], what: str = "update") -> None:
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise TypeError(f"{what} cannot change {sorted(unknown)}; it changes only {sorted(UPDATABLE)}")


def encode_fields(values: Mapping[str, Any]) -> dict[str, bytes]:
    """``{short key: JSON}`` for record fields given by name (a Redis hash's fields)."""
    return {_KEYS[name]: orjson.dumps(_plain(value, name)) for name, value in values.items()}


def field_key(name: str) -> str:
    """The short key (Redis hash field) of record field ``name``."""
    return _KEYS[name]


def encode_record(record: SessionRecord) -> dict[str, bytes]:
    return encode_fields({name: getattr(record, name) for name in _STORED})


def decode_fields(session_id: str, flat: list[Any]) -> SessionRecord:
    """The record from a Redis HGETALL reply (``[field, value, ...]``); busy is the number of
    workers holding the session busy (one mark each; each worker counts its own requests)."""
    values: dict[str, Any] = {}
    busy = 0
    for key, value in zip(flat[::2], flat[1::2], strict=True):
        name = key.decode()
        if name.startswith(BUSY_MARK):
            busy += 1
        elif name in _NAMES:
            values[_NAMES[name]] = orjson.loads(value)
    return replace(SessionRecord(session_id, busy=busy), **values)
