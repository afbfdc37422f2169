"""Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2 for
``private_key_jwt``): the form fields and headers one request needs."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any
from urllib.parse import quote

from .errors import OAuthError
from .models import ClientInfo

__all__ = ["METHODS", "apply_client_auth", "choose_method"]

METHODS = ("client_secret_basic", "client_secret_post", "none", "private_key_jwt")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 60  # seconds; one request's worth


def choose_method(client: ClientInfo, supported: list[str] | None) -> str:
    """The registered method if there is one; else what the credentials allow, preferring what
    the server lists (RFC 8414 §2: an absent list means ``client_secret_basic``)."""
    if client.token_endpoint_auth_method:
        return client.token_endpoint_auth_method
    if client.private_key:
        return "private_key_jwt"
    if not client.client_secret:
        return "none"
    offered = supported or ["client_secret_basic"]
    return next(
        (m for m in ("client_secret_basic", "client_secret_post") if m in offered), "client_secret_basic"
    )


def _basic(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: each part form-urlencoded before base64.
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _assertion(client: ClientInfo, key: str, audience: str) -> str:
    import jwt  # the auth extra

    now = int(time.time())
    claims = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
        "jti": secrets.token_urlsafe(16),
    }
    token: str = jwt.encode(claims, key, algorithm=client.signing_alg)
    return token


def apply_client_auth(
    client: ClientInfo, method: str, form: dict[str, str], headers: dict[str, str], *, audience: str
) -> None:
    """Add the client's authentication to a token request, in place. ``audience`` is the
    authorization server's issuer, the ``aud`` of a ``private_key_jwt`` assertion."""
    if method == "client_secret_basic":
        if not client.client_secret:
            raise OAuthError("client_secret_basic needs a client secret")
        headers["Authorization"] = _basic(client.client_id, client.client_secret)
    elif method == "client_secret_post":
        if not client.client_secret:
            raise OAuthError("client_secret_post needs a client secret")
        form.update(client_id=client.client_id, client_secret=client.client_secret)
    elif method == "private_key_jwt":
        if not client.private_key:
            raise OAuthError("private_key_jwt needs a private key")
        form.update(
            client_assertion_type=ASSERTION_TYPE,
            client_assertion=_assertion(client, client.private_key, audience),
        )
    elif method == "none":
        form["client_id"] = client.client_id
    else:
        raise OAuthError(
            f"unsupported token endpoint auth method {method!r}; supported: {', '.join(METHODS)}"
        )


def describe(body: Any) -> str:
    """An OAuth error response (RFC 6749 §5.2) as one line."""
    if isinstance(body, dict) and "error" in body:
        return f"{body['error']}: {body.get('error_description', '')}".rstrip(": ")
    return str(body)[:200]
