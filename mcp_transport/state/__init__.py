"""State behind interfaces (docs/architecture.md, "Where state lives"): sessions, SSE event logs and
the inbound message bus. Each is a small async protocol with an in-memory implementation;
nothing else in mcp_transport holds session state.
"""

from .bus import Bus
from .events import EventLog, format_event_id, parse_event_id
from .memory import MemoryBus, MemoryEventLog, MemorySessionStore
from .sessions import SessionStore, new_session_id

__all__ = [
    "Bus",
    "EventLog",
    "MemoryBus",
    "MemoryEventLog",
    "MemorySessionStore",
    "SessionStore",
    "format_event_id",
    "new_session_id",
    "parse_event_id",
]
