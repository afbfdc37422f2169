"""``gateway.toml``: the upstreams of ``mcp-transport proxy --config``.

[upstreams.github]                  # the table's name is the prefix: github.create_issue
url = "https://github.example/mcp"
headers = { Authorization = "Bearer ..." }
allow = ["create_*", "list_*"]      # glob patterns on the upstream's own names
era = "auto"                        # auto | legacy | modern

[upstreams.files]
command = "python files_server.py"  # stdio: a string (split like a shell) or a list
deny = ["delete_*"]
per_session = true                  # a child process per legacy session (default: one shared)
env = { ROOT = "/srv" }
"""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path
from typing import Any

from ._server import Gateway

__all__ = ["ConfigError", "load_config"]

_KEYS = {"url", "command", "headers", "allow", "deny", "era", "per_session", "env", "cwd", "timeout"}


class ConfigError(ValueError):
    """The configuration file is wrong; the message names the file, the upstream and the key."""


def load_config(path: str | Path, gateway: Gateway | None = None) -> Gateway:
    """Mount every upstream of the file on ``gateway`` (a new one by default)."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    upstreams = data.get("upstreams")
    if not isinstance(upstreams, dict) or not upstreams:
        raise ConfigError(f"{path}: no [upstreams.NAME] tables; see docs/guides/gateway.md")
    gateway = gateway if gateway is not None else Gateway()
    for name, table in upstreams.items():
        _mount(gateway, f"{path}: [upstreams.{name}]", name, table)
    return gateway


def _mount(gateway: Gateway, where: str, name: str, table: Any) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_KEYS))})"
        )
    if ("url" in table) == ("command" in table):
        raise ConfigError(f'{where}: give exactly one of url = "..." or command = "..."')
    options: dict[str, Any] = {"era": table["era"]} if "era" in table else {}
    if "timeout" in table:
        options["timeout"] = float(table["timeout"])
    if "url" in table:
        target: Any = str(table["url"])
        if "headers" in table:
            options["headers"] = {str(k): str(v) for k, v in dict(table["headers"]).items()}
    else:
        command = table["command"]
        target = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]
        if not target:
            raise ConfigError(f"{where}: command is empty")
        for key in ("env", "cwd"):
            if key in table:
                options[key] = dict(table[key]) if key == "env" else str(table[key])
    try:
        gateway.mount(
            name,
            target,
            allow=list(table.get("allow", [])),
            deny=list(table.get("deny", [])),
            per_session=bool(table.get("per_session", False)),
            **options,
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
