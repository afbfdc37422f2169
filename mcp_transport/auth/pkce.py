"""PKCE (RFC 7636) with the S256 method, the only one MCP clients use.

2025-11-25 basic/authorization#authorization-code-protection: clients MUST implement PKCE and
use S256 when technically capable.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

__all__ = ["PKCE", "s256_challenge"]

# RFC 7636 §4.1: 43 to 128 characters from the unreserved set; 64 random bytes give 86.
_VERIFIER_BYTES = 64


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))), RFC 7636 §4.2."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class PKCE:
    verifier: str
    challenge: str
    method: str = "S256"

    @classmethod
    def generate(cls) -> PKCE:
        verifier = _b64url(secrets.token_bytes(_VERIFIER_BYTES))
        return cls(verifier=verifier, challenge=s256_challenge(verifier))
