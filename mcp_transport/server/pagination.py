"""Opaque-cursor pagination for every list method (2025-11-25 server/utilities/pagination).

A cursor is the base64 of the offset of the next page. Clients must treat it as opaque; the
server rejects anything it did not mint with -32602.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar

from ..errors import InvalidParams

__all__ = ["DEFAULT_PAGE_SIZE", "paginate"]

# Large enough that ordinary servers answer every list in one page, small enough that a
# server with thousands of tools does not build a multi-megabyte response.
DEFAULT_PAGE_SIZE = 500

T = TypeVar("T")


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode("ascii")


def _decode(cursor: Any) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
        if text.startswith("o:") and (offset := int(text[2:])) >= 0:
            return offset
    except (AttributeError, ValueError, UnicodeError, binascii.Error):
        pass
    raise InvalidParams(f"Invalid cursor {cursor!r}: pass back the nextCursor of the previous page unchanged")


def paginate(
    items: Sequence[T], cursor: Any, page_size: int = DEFAULT_PAGE_SIZE
) -> tuple[list[T], str | None]:
    """One page of ``items`` starting at ``cursor`` and the cursor of the next page (or None)."""
    start = 0 if cursor is None else _decode(cursor)
    if start > len(items):
        raise InvalidParams(f"Invalid cursor {cursor!r}: it points past the end of the list")
    end = start + page_size
    return list(items[start:end]), (_encode(end) if end < len(items) else None)
