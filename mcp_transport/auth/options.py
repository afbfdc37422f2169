"""Command-line options that protect a server: ``--auth-issuer URL --auth-audience URL
[--auth-jwks URL | --auth-introspection URL]`` (``python -m servers.everything``,
``mcp-transport serve``). The introspection client credentials come from the environment
(``MCP_TRANSPORT_INTROSPECTION_CLIENT_ID`` / ``_SECRET``): a secret never goes on a command line."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .resource import ResourceServer

__all__ = ["add_auth_arguments", "auth_from_args"]

ENV_CLIENT_ID = "MCP_TRANSPORT_INTROSPECTION_CLIENT_ID"
ENV_CLIENT_SECRET = "MCP_TRANSPORT_INTROSPECTION_CLIENT_SECRET"


def add_auth_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("authorization (OAuth 2.1 resource server; docs/guides/auth.md)")
    group.add_argument("--auth-issuer", metavar="URL", help="the authorization server that issues tokens")
    group.add_argument("--auth-audience", metavar="URL", help="this server's canonical URI (the token's aud)")
    verifier = group.add_mutually_exclusive_group()
    verifier.add_argument(
        "--auth-jwks", metavar="URL", help="JWKS of JWT access tokens (default: discovered)"
    )
    verifier.add_argument(
        "--auth-introspection",
        metavar="URL",
        help=f"RFC 7662 introspection endpoint (client credentials: ${ENV_CLIENT_ID}, ${ENV_CLIENT_SECRET})",
    )
    group.add_argument(
        "--auth-scope", action="append", default=[], metavar="SCOPE", help="needed by every request"
    )


def auth_from_args(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> ResourceServer | None:
    """The configured resource server, None without ``--auth-issuer``; ValueError naming the
    missing option."""
    if args.auth_issuer is None:
        if args.auth_audience or args.auth_jwks or args.auth_introspection:
            raise ValueError("--auth-audience/--auth-jwks/--auth-introspection need --auth-issuer URL")
        return None
    if not args.auth_audience:
        raise ValueError(
            "--auth-issuer needs --auth-audience URL: this server's canonical URI, e.g. https://host/mcp"
        )
    from .resource import ResourceServer  # PyJWT: only when authorization is configured

    env = os.environ if environ is None else environ
    return ResourceServer(
        issuer=args.auth_issuer,
        audience=args.auth_audience,
        jwks_uri=args.auth_jwks,
        introspection_endpoint=args.auth_introspection,
        client_id=env.get(ENV_CLIENT_ID),
        client_secret=env.get(ENV_CLIENT_SECRET),
        scopes=args.auth_scope,
    )
