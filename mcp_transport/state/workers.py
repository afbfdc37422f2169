"""This worker process's id: short, stable for the life of the process, different in every
process (also in a child forked from a worker), so logs, headers and the shared state can
name the worker that runs a request."""

from __future__ import annotations

import os
import secrets

__all__ = ["worker_id"]

_ids: dict[int, str] = {}


def worker_id() -> str:
    """8 hex digits (32 random bits: a collision among a few hundred workers is about 1 in
    10^5 and is caught by the registry, whose lease key is per id)."""
    pid = os.getpid()
    if pid not in _ids:
        _ids.clear()  # a forked child does not inherit its parent's id
        _ids[pid] = secrets.token_hex(4)
    return _ids[pid]
