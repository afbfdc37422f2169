"""The endpoint's small ASGI helpers (transports/http/asgi.py) that keep per-process caches on
the hot path: the caches change the cost, never the answer, and stay bounded."""

from __future__ import annotations

import pytest

from mcp_transport.transports.http import asgi
from mcp_transport.transports.http.asgi import HTTPError, check_post_headers, header_dict

RAW = [
    (b"host", b"127.0.0.1:8000"),
    (b"accept", b"application/json"),
    (b"x-repeat", b"1"),
    (b"x-repeat", b"2"),
]
EXPECTED = {"host": "127.0.0.1:8000", "accept": "application/json", "x-repeat": "2"}


def test_header_dict_is_the_same_from_a_cold_and_a_warm_cache() -> None:
    asgi._HEADER_PAIRS.clear()
    assert header_dict(RAW) == EXPECTED  # cold: decoded pair by pair
    assert header_dict(RAW) == EXPECTED  # warm: every pair known
    assert header_dict([*RAW, (b"new", b"\xe9")]) == {**EXPECTED, "new": "\xe9"}  # one unknown pair


def test_header_dict_takes_any_iterable_of_pairs() -> None:
    # ASGI allows [name, value] lists (unhashable) and any iterable, read once.
    assert header_dict([[k, v] for k, v in RAW]) == EXPECTED
    asgi._HEADER_PAIRS.clear()
    assert header_dict(iter(RAW)) == EXPECTED  # cold: the first, cached attempt fails part-way
    assert header_dict(iter(RAW)) == EXPECTED  # warm


def test_header_pair_cache_is_bounded_and_skips_long_values() -> None:
    asgi._HEADER_PAIRS.clear()
    for n in range(3 * asgi._HEADER_PAIRS_SIZE):
        assert header_dict([(b"content-length", b"%d" % n)]) == {"content-length": str(n)}
        assert len(asgi._HEADER_PAIRS) <= asgi._HEADER_PAIRS_SIZE
    token = b"Bearer " + b"x" * (asgi._HEADER_PAIR_VALUE_MAX + 1)
    asgi._HEADER_PAIRS.clear()
    assert header_dict([(b"authorization", token)]) == {"authorization": token.decode()}
    assert not asgi._HEADER_PAIRS


def test_post_header_verdicts_are_cached_only_when_accepted() -> None:
    asgi._POST_VERDICTS.clear()
    good = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    assert check_post_headers(good) == (True, True)
    assert check_post_headers(good) == (True, True)
    bad = {"content-type": "text/plain", "accept": "application/json"}
    for _ in range(2):  # refused every time, with its status
        with pytest.raises(HTTPError) as refused:
            check_post_headers(bad)
        assert refused.value.status == 415
    assert list(asgi._POST_VERDICTS) == [(good["content-type"], good["accept"])]
    for n in range(3 * asgi._ACCEPTED_SIZE):
        check_post_headers({"content-type": "application/json", "accept": f"application/json;v={n}"})
        assert len(asgi._POST_VERDICTS) <= asgi._ACCEPTED_SIZE
