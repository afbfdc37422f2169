"""The authorization response (the redirect back to the client): state, errors and the RFC 9207
``iss`` check. 2026-07-28 basic/authorization#authorization-response-validation."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .errors import OAuthError

__all__ = ["AuthorizationResponse", "check_iss"]


def check_iss(iss: str | None, recorded_issuer: str, advertised: bool) -> None:
    """RFC 9207 §2.4 as the spec tabulates it: a present ``iss`` must equal the recorded issuer
    by simple string comparison (no case folding, port elision, trailing-slash or
    percent-encoding normalisation), whether or not the server advertised it; an absent one is
    an error only when the server advertised ``authorization_response_iss_parameter_supported``."""
    if iss is None:
        if advertised:
            raise OAuthError(
                "the authorization server advertises the iss parameter but the authorization "
                "response has none: rejecting it (RFC 9207 §2.4)"
            )
        return
    if iss != recorded_issuer:
        raise OAuthError(
            f"the authorization response comes from issuer {iss!r}, not {recorded_issuer!r}: "
            "rejecting it (RFC 9207 §2.4, mix-up protection)"
        )


@dataclass(frozen=True, slots=True)
class AuthorizationResponse:
    params: dict[str, str]

    @classmethod
    def parse(cls, redirect: str) -> AuthorizationResponse:
        """From the URL the authorization server redirected to (or just its query string)."""
        query = urlsplit(redirect).query if "?" in redirect or "://" in redirect else redirect
        parsed = parse_qs(query, keep_blank_values=True)
        # A repeated parameter is ambiguous (RFC 6749 §3.1): keep none of it rather than guess.
        return cls({k: v[0] for k, v in parsed.items() if len(v) == 1})

    def code_for(self, state: str, recorded_issuer: str, iss_advertised: bool) -> str:
        """The authorization code, once state and issuer are verified. The issuer is checked
        before the error, so an error from another server is never acted on."""
        check_iss(self.params.get("iss"), recorded_issuer, iss_advertised)
        if self.params.get("state") != state:
            raise OAuthError("the authorization response's state does not match the request (CSRF)")
        if "error" in self.params:
            detail = self.params.get("error_description", "")
            raise OAuthError(
                f"authorization denied: {self.params['error']} {detail}".rstrip(), self.params["error"]
            )
        code = self.params.get("code")
        if not code:
            raise OAuthError("the authorization response carries no code")
        return code
