"""The status page itself: status.html with status.css and status.js inlined, one
self-contained document (no CDN, no build step). The script polls ``status.json`` next to the
page every second and renders it with the DOM (``textContent`` only: client and tool names come
from clients and are never parsed as HTML). Served with a Content-Security-Policy that allows
exactly this page's inline script and style, by hash."""

from __future__ import annotations

import base64
import hashlib
from importlib.resources import files

__all__ = ["CSP", "PAGE"]

_HERE = files(__package__)
_STYLE = _HERE.joinpath("status.css").read_text("utf-8")
_SCRIPT = _HERE.joinpath("status.js").read_text("utf-8")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


PAGE = (
    _HERE.joinpath("status.html")
    .read_text("utf-8")
    .replace("{style}", _STYLE)
    .replace("{script}", _SCRIPT)
    .encode()
)
CSP = (
    f"default-src 'none'; connect-src 'self'; script-src {_hash(_SCRIPT)}; style-src {_hash(_STYLE)}; "
    "img-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
