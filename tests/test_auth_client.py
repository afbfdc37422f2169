"""The pure pieces of ``mcp_transport.auth`` (PKCE, metadata URLs, challenge parsing, scope
selection, the RFC 9207 ``iss`` check, DPoP proof claims, client authentication), the token
stores, and the loopback redirect helper over a real socket."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import httpx
import jwt
import pytest

from mcp_transport.auth import (
    AuthorizationCodeGrant,
    ClientInfo,
    FileTokenStorage,
    InMemoryTokenStorage,
    LoopbackRedirect,
    OAuthError,
)
from mcp_transport.auth.challenge import parse_www_authenticate
from mcp_transport.auth.client_auth import apply_client_auth, choose_method
from mcp_transport.auth.context import AuthContext
from mcp_transport.auth.discovery import (
    as_metadata_urls,
    check_as_metadata,
    check_protected_resource,
    prm_urls,
    resource_covers,
)
from mcp_transport.auth.dpop import DPoPKey, access_token_hash
from mcp_transport.auth.models import Tokens
from mcp_transport.auth.pkce import PKCE, s256_challenge
from mcp_transport.auth.registration import Registrar
from mcp_transport.auth.response import AuthorizationResponse, check_iss
from mcp_transport.auth.scopes import select_scopes
from mcp_transport.auth.storage import MAX_ENTRIES

# -- PKCE ------------------------------------------------------------------------------------


def test_s256_matches_rfc7636_appendix_b() -> None:
    assert (
        s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_pkce_verifier_is_fresh_and_in_range() -> None:
    a, b = PKCE.generate(), PKCE.generate()
    assert a.verifier != b.verifier and a.method == "S256"
    assert 43 <= len(a.verifier) <= 128 and a.challenge == s256_challenge(a.verifier)


# -- metadata URLs and checks ------------------------------------------------------------------


def test_prm_urls_header_first_then_path_inserted_then_root() -> None:
    assert prm_urls("https://h.example/public/mcp", "https://h.example/custom.json") == [
        "https://h.example/custom.json"
    ]
    assert prm_urls("https://h.example/public/mcp", None) == [
        "https://h.example/.well-known/oauth-protected-resource/public/mcp",
        "https://h.example/.well-known/oauth-protected-resource",
    ]
    assert prm_urls("https://h.example/", None) == ["https://h.example/.well-known/oauth-protected-resource"]


def test_as_metadata_urls_in_spec_order() -> None:
    assert as_metadata_urls("https://auth.example/tenant1") == [
        "https://auth.example/.well-known/oauth-authorization-server/tenant1",
        "https://auth.example/.well-known/openid-configuration/tenant1",
        "https://auth.example/tenant1/.well-known/openid-configuration",
    ]
    assert as_metadata_urls("https://auth.example") == [
        "https://auth.example/.well-known/oauth-authorization-server",
        "https://auth.example/.well-known/openid-configuration",
    ]


def test_resource_must_name_this_server() -> None:
    assert resource_covers("https://h.example/mcp", "https://h.example/mcp")
    assert resource_covers("https://h.example", "https://h.example/mcp")  # a root-level document
    assert not resource_covers("https://h.example/mc", "https://h.example/mcp")
    assert not resource_covers("https://evil.example/mcp", "https://h.example/mcp")
    with pytest.raises(OAuthError, match="evil"):
        check_protected_resource(
            {"resource": "https://evil.example/mcp", "authorization_servers": ["https://a"]},
            "https://h.example/mcp",
        )


def test_issuer_must_be_identical() -> None:
    assert check_as_metadata({"issuer": "https://a.example"}, "https://a.example")
    for wrong in ("https://a.example/", "https://attacker.example", None):
        with pytest.raises(OAuthError, match="issuer"):
            check_as_metadata({"issuer": wrong}, "https://a.example")


# -- challenges and scopes -------------------------------------------------------------------


def test_parse_www_authenticate_bearer_and_dpop() -> None:
    [bearer, dpop] = parse_www_authenticate(
        ['Bearer error="insufficient_scope", scope="a b", resource_metadata="https://h/x", DPoP algs="ES256"']
    )
    assert bearer.scheme == "bearer" and bearer.scopes == ["a", "b"]
    assert (
        bearer.params["resource_metadata"] == "https://h/x" and bearer.params["error"] == "insufficient_scope"
    )
    assert dpop.scheme == "dpop" and dpop.params == {"algs": "ES256"}
    [quoted] = parse_www_authenticate(['Bearer realm="a \\"b\\" c"'])
    assert quoted.params["realm"] == 'a "b" c' and quoted.scopes is None


def test_scope_selection_priority() -> None:
    assert select_scopes(["mcp:basic"], ["x", "y"]) == ["mcp:basic"]  # the challenge wins
    assert select_scopes(None, ["x", "y"]) == ["x", "y"]  # then scopes_supported
    assert select_scopes(None, None) is None  # else omitted
    # step-up: the union, previously held first
    assert select_scopes(["mcp:write"], None, previous=["mcp:basic"]) == ["mcp:basic", "mcp:write"]


def test_offline_access_only_when_the_authorization_server_lists_it() -> None:
    assert select_scopes(None, ["a"], as_scopes_supported=["a", "offline_access"], want_refresh=True) == [
        "a",
        "offline_access",
    ]
    assert select_scopes(None, ["a"], as_scopes_supported=["a"], want_refresh=True) == ["a"]
    assert select_scopes(None, ["a"], as_scopes_supported=["offline_access"], want_refresh=False) == ["a"]


# -- the authorization response ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("iss", "advertised", "ok"),
    [
        ("https://a.example", True, True),
        (None, True, False),  # advertised but absent
        ("https://a.example", False, True),
        ("https://evil.example", False, False),  # present, unadvertised, wrong: still compared
        (None, False, True),
        ("https://a.example/", True, False),  # no trailing-slash normalisation
        ("HTTPS://A.EXAMPLE", True, False),  # no case folding
        ("https://a.example:443", True, False),  # no default-port elision
    ],
)
def test_iss_check_is_simple_string_comparison(iss: str | None, advertised: bool, ok: bool) -> None:
    if ok:
        check_iss(iss, "https://a.example", advertised)
    else:
        with pytest.raises(OAuthError, match="RFC 9207"):
            check_iss(iss, "https://a.example", advertised)


def test_authorization_response_checks_issuer_before_acting_on_an_error() -> None:
    wrong = AuthorizationResponse.parse(
        "http://localhost/cb?error=access_denied&state=s&iss=https%3A%2F%2Fevil"
    )
    with pytest.raises(OAuthError, match="evil"):
        wrong.code_for("s", "https://a.example", True)
    with pytest.raises(OAuthError, match="state"):
        AuthorizationResponse.parse("code=c&state=other").code_for("s", "https://a.example", False)
    assert (
        AuthorizationResponse.parse("http://localhost/cb?code=c&state=s").code_for("s", "https://a", False)
        == "c"
    )


# -- DPoP ------------------------------------------------------------------------------------


def test_dpop_proof_claims_and_header() -> None:
    key = DPoPKey()
    key.remember_nonce("https://rs.example/other", "n-1")
    proof = key.proof("post", "https://rs.example/mcp?x=1#f", access_token="tok")
    header = jwt.get_unverified_header(proof)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256" and "d" not in header["jwk"]
    public = jwt.PyJWK(header["jwk"], algorithm="ES256")
    claims = jwt.decode(proof, public.key, algorithms=["ES256"])
    assert claims["htm"] == "POST" and claims["htu"] == "https://rs.example/mcp"  # no query or fragment
    assert claims["ath"] == access_token_hash("tok") and claims["nonce"] == "n-1"  # nonce per origin
    digest = base64.urlsafe_b64encode(hashlib.sha256(b"tok").digest()).rstrip(b"=").decode()
    assert claims["ath"] == digest
    again = jwt.decode(key.proof("POST", "https://rs.example/mcp"), public.key, algorithms=["ES256"])
    assert again["jti"] != claims["jti"] and "ath" not in again  # a fresh proof per request


# -- client authentication at the token endpoint -----------------------------------------------


def test_client_auth_methods() -> None:
    secret = ClientInfo("id:1", "s/2")
    assert choose_method(secret, ["client_secret_post"]) == "client_secret_post"
    assert choose_method(secret, None) == "client_secret_basic"
    assert choose_method(ClientInfo("id"), ["client_secret_basic"]) == "none"
    form: dict[str, str] = {}
    headers: dict[str, str] = {}
    apply_client_auth(secret, "client_secret_basic", form, headers, audience="https://a")
    assert base64.b64decode(headers["Authorization"].removeprefix("Basic ")) == b"id%3A1:s%2F2"
    assert form == {}
    with pytest.raises(OAuthError, match="unsupported"):
        apply_client_auth(secret, "tls_client_auth", form, headers, audience="https://a")


def test_private_key_jwt_assertion() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    form: dict[str, str] = {}
    apply_client_auth(
        ClientInfo("cid", private_key=pem), "private_key_jwt", form, {}, audience="https://a.example"
    )
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    claims = jwt.decode(
        form["client_assertion"], private.public_key(), algorithms=["ES256"], audience="https://a.example"
    )
    assert claims["iss"] == claims["sub"] == "cid"


# -- storage ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_file_store_is_private_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "tokens.json"
    store = FileTokenStorage(path)
    await store.set_tokens("https://h/mcp", Tokens("at", refresh_token="rt", issuer="https://a"))
    await store.set_client("https://a", ClientInfo("cid", "secret", issuer="https://a"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reopened = FileTokenStorage(path)
    tokens = await reopened.get_tokens("https://h/mcp")
    assert tokens is not None and tokens.refresh_token == "rt"
    client = await reopened.get_client("https://a")
    assert client is not None and client.client_secret == "secret"
    assert await reopened.get_client("https://b") is None  # keyed by issuer: never shared
    await reopened.set_tokens("https://h/mcp", None)
    assert "https://h/mcp" not in json.loads(path.read_text())["tokens"]


@pytest.mark.anyio
async def test_memory_store_is_bounded() -> None:
    store = InMemoryTokenStorage()
    for i in range(MAX_ENTRIES + 5):
        await store.set_tokens(f"r{i}", Tokens(f"t{i}"))
    assert await store.get_tokens("r0") is None and await store.get_tokens(f"r{MAX_ENTRIES + 4}") is not None


# -- loopback redirect -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_loopback_redirect_returns_the_redirect() -> None:
    opened: list[str] = []
    async with LoopbackRedirect(timeout=5, open_url=opened.append) as loopback:
        assert loopback.port != 0
        async with httpx.AsyncClient() as http:
            assert (
                await http.get(loopback.redirect_uri.replace("/callback", "/favicon.ico"))
            ).status_code == 404
            page = await http.get(loopback.redirect_uri, params={"code": "c1", "state": "s"})
        assert page.status_code == 200
        redirect = await loopback.on_authorize("https://a.example/authorize?x=1")
    assert opened == ["https://a.example/authorize?x=1"]
    assert AuthorizationResponse.parse(redirect).code_for("s", "https://a", False) == "c1"


@pytest.mark.anyio
async def test_loopback_redirect_times_out_with_a_clear_error() -> None:
    async with LoopbackRedirect(timeout=0.2, open_url=lambda url: None) as loopback:
        with pytest.raises(OAuthError, match="no authorization redirect"):
            await loopback.on_authorize("https://a.example/authorize")


# -- refusals before any user interaction ------------------------------------------------------


def _context(metadata: dict[str, object], client: ClientInfo | None = None) -> AuthContext:
    return AuthContext(
        httpx.AsyncClient(), "https://h/mcp", "https://h/mcp", "https://a", dict(metadata), client=client
    )


@pytest.mark.anyio
async def test_no_pkce_s256_advertised_is_refused_before_the_user_is_asked() -> None:
    asked: list[str] = []
    grant = AuthorizationCodeGrant(asked.append, "http://127.0.0.1/cb")  # type: ignore[arg-type]  # deliberately the wrong type
    metadata = {
        "issuer": "https://a",
        "authorization_endpoint": "https://a/authorize",
        "token_endpoint": "https://a/t",
    }
    for methods in (None, ["plain"]):
        ctx = _context({**metadata, "code_challenge_methods_supported": methods}, ClientInfo("c"))
        with pytest.raises(OAuthError, match="PKCE S256"):
            await grant.obtain(ctx)
    assert asked == []


@pytest.mark.anyio
async def test_credentials_stay_with_their_authorization_server() -> None:
    storage = InMemoryTokenStorage()
    registrar = Registrar(storage, ClientInfo("pre", "secret"))
    first = await registrar.client_for(_context({}), dynamic=True)
    assert first.client_id == "pre" and first.issuer == "https://a"  # bound on first use
    moved = AuthContext(
        httpx.AsyncClient(), "https://h/mcp", "https://h/mcp", "https://b", {"issuer": "https://b"}
    )
    with pytest.raises(OAuthError, match="belongs to https://a"):
        await registrar.client_for(moved, dynamic=True)
    await storage.set_client("https://a", ClientInfo("dcr-a", issuer="https://a"))
    cimd = Registrar(storage, client_metadata_url="https://client.example/meta.json")
    moved.metadata["client_id_metadata_document_supported"] = True
    assert (await cimd.client_for(moved, dynamic=True)).client_id == "https://client.example/meta.json"
