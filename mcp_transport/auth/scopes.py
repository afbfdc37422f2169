"""Which scopes to ask for (2026-07-28 basic/authorization#scope-selection-strategy and
#step-up-authorization-flow; refresh tokens: #refresh-tokens)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["OFFLINE_ACCESS", "join_scopes", "select_scopes"]

OFFLINE_ACCESS = "offline_access"


def _union(*groups: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for group in groups:
        for scope in group:
            seen.setdefault(scope, None)
    return list(seen)


def select_scopes(
    challenged: list[str] | None,
    scopes_supported: list[str] | None,
    *,
    previous: Iterable[str] = (),
    as_scopes_supported: list[str] | None = None,
    want_refresh: bool = False,
) -> list[str] | None:
    """The scope list for an authorization request, or None to omit the parameter.

    1. the challenge's ``scope`` (authoritative for the current operation), plus on re-authorization
       the previously requested scopes so none is lost (step-up);
    2. otherwise every scope in the protected resource's ``scopes_supported``;
    3. otherwise nothing: the parameter is omitted.
    ``offline_access`` is added only when refresh tokens are wanted and the authorization server's
    own ``scopes_supported`` lists it (a resource never requires it).
    """
    if challenged is not None:
        chosen = _union(previous, challenged)
    elif scopes_supported is not None:
        chosen = _union(previous, scopes_supported)
    else:
        chosen = list(previous)
    if want_refresh and as_scopes_supported and OFFLINE_ACCESS in as_scopes_supported:
        chosen = _union(chosen, [OFFLINE_ACCESS])
    return chosen or None


def join_scopes(scopes: list[str] | None) -> str | None:
    return " ".join(scopes) if scopes else None
