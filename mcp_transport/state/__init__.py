"""State behind interfaces (docs/architecture.md, "Where state lives"): legacy session
records and SSE event logs, each a small async protocol with an in-memory implementation
(one worker) and a Redis one (``mcp_transport.state.redis``, several workers), gathered in
one :class:`SharedState` per endpoint. Nothing else in mcp_transport holds session state.
"""

from .events import EventLog, format_event_id, parse_event_id
from .memory import MemoryEventLog
from .records import SessionRecord
from .session_store import MemorySessionStore, SessionStore
from .sessions import new_session_id
from .shared import SharedState

__all__ = [
    "EventLog",
    "MemoryEventLog",
    "MemorySessionStore",
    "SessionRecord",
    "SessionStore",
    "SharedState",
    "format_event_id",
    "new_session_id",
    "parse_event_id",
]
