"""protocol: version negotiation, the legacy lifecycle table, the modern envelope."""

import pytest

from mcp_transport.errors import InvalidParams, InvalidRequest, UnsupportedProtocolVersion
from mcp_transport.protocol import (
    LATEST_LEGACY_VERSION,
    LEGACY_VERSIONS,
    META_CLIENT_CAPABILITIES,
    META_PROTOCOL_VERSION,
    Era,
    Lifecycle,
    LifecycleState,
    allows_batch,
    era_of,
    negotiate_version,
    parse_envelope,
)


@pytest.mark.parametrize("version", LEGACY_VERSIONS)
def test_supported_legacy_versions_are_echoed(version: str) -> None:
    assert negotiate_version(version) == version


@pytest.mark.parametrize("requested", ["2099-01-01", "2026-07-28", "2025-12-01", None, 5])
def test_other_versions_get_our_latest_legacy_version(requested: object) -> None:
    # Table-driven, not lexical: a later-looking date is not "newer and therefore fine".
    assert negotiate_version(requested) == LATEST_LEGACY_VERSION


def test_eras_and_batches() -> None:
    assert era_of("2026-07-28") is Era.MODERN
    assert era_of("2025-06-18") is Era.LEGACY
    assert era_of("1999-01-01") is None
    assert allows_batch("2025-03-26") and not allows_batch("2025-06-18") and not allows_batch(None)


def test_lifecycle_table() -> None:
    life = Lifecycle()
    life.check("ping")
    with pytest.raises(InvalidRequest, match="send initialize before tools/list"):
        life.check("tools/list")
    life.check("initialize")
    life.advance("initialize")
    state = life.state  # a local: mypy would keep life.state narrowed past advance()
    assert state is LifecycleState.INITIALIZING
    life.check("tools/list")  # clients often do not wait for their own initialized
    with pytest.raises(InvalidRequest, match="only once"):
        life.check("initialize")
    life.advance("notifications/initialized")
    assert life.state is LifecycleState.READY


def _params(**meta: object) -> dict:
    return {"_meta": meta}


def test_envelope_absent_means_legacy() -> None:
    assert parse_envelope(None) is None
    assert parse_envelope({"name": "x"}) is None
    assert parse_envelope({"_meta": {"progressToken": 1}}) is None


def test_envelope_parsed() -> None:
    env = parse_envelope(
        _params(**{META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {"sampling": {}}})
    )
    assert env is not None and env.protocol_version == "2026-07-28"
    assert env.has_capability("sampling") and not env.has_capability("roots")


def test_malformed_envelope_is_an_error_not_a_fallback() -> None:
    with pytest.raises(InvalidParams, match="clientCapabilities"):
        parse_envelope(_params(**{META_PROTOCOL_VERSION: "2026-07-28"}))
    with pytest.raises(InvalidParams, match="non-empty string"):
        parse_envelope(_params(**{META_PROTOCOL_VERSION: 7, META_CLIENT_CAPABILITIES: {}}))


def test_unknown_modern_version_lists_what_is_supported() -> None:
    with pytest.raises(UnsupportedProtocolVersion) as info:
        parse_envelope(_params(**{META_PROTOCOL_VERSION: "2030-01-01", META_CLIENT_CAPABILITIES: {}}))
    assert info.value.data == {"supported": ["2026-07-28"], "requested": "2030-01-01"}
    assert info.value.code == -32022 and info.value.http_status == 400
    # server/discover answers any well-formed version
    assert (
        parse_envelope(
            _params(**{META_PROTOCOL_VERSION: "2030-01-01", META_CLIENT_CAPABILITIES: {}}),
            check_version=False,
        )
        is not None
    )
