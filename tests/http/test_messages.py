"""Headers (an ordered, case-insensitive multi-map) and RequestHead."""

from __future__ import annotations

import dataclasses

import pytest

from pyhttpd.http.messages import Headers, RequestHead


def _headers() -> Headers:
    return Headers([("Host", "a"), ("Accept", "text/html"), ("accept", "text/plain"), ("X", "1")])


def test_get_is_case_insensitive_and_returns_the_first() -> None:
    headers = _headers()
    assert headers.get("ACCEPT") == "text/html"
    assert headers.get("accept") == "text/html"
    assert headers.get("host") == "a"


def test_get_default() -> None:
    headers = _headers()
    assert headers.get("Missing") is None
    assert headers.get("Missing", "fallback") == "fallback"


def test_get_all_keeps_order_across_spellings() -> None:
    assert _headers().get_all("AcCePt") == ["text/html", "text/plain"]
    assert _headers().get_all("missing") == []


def test_contains() -> None:
    headers = _headers()
    assert "HOST" in headers
    assert "nothing" not in headers
    assert 42 not in headers


def test_contains_an_empty_value() -> None:
    assert "X-Empty" in Headers([("X-Empty", "")])


def test_iteration_keeps_names_as_sent() -> None:
    assert list(_headers()) == [
        ("Host", "a"),
        ("Accept", "text/html"),
        ("accept", "text/plain"),
        ("X", "1"),
    ]
    assert len(_headers()) == 4


def test_add_appends_a_duplicate() -> None:
    headers = _headers()
    headers.add("x", "2")
    assert headers.get_all("X") == ["1", "2"]


def test_set_replaces_every_spelling() -> None:
    headers = _headers()
    headers.set("ACCEPT", "*/*")
    assert headers.get_all("accept") == ["*/*"]
    assert list(headers)[-1] == ("ACCEPT", "*/*")
    assert len(headers) == 3


def test_remove_every_spelling_and_missing_is_fine() -> None:
    headers = _headers()
    headers.remove("accept")
    assert headers.get_all("Accept") == []
    assert [name for name, _ in headers] == ["Host", "X"]
    headers.remove("never-there")
    assert len(headers) == 2


def test_setdefault_only_when_absent() -> None:
    headers = _headers()
    headers.setdefault("host", "other")
    headers.setdefault("Server", "pyhttpd")
    assert headers.get_all("Host") == ["a"]
    assert headers.get("server") == "pyhttpd"


def test_copy_is_independent() -> None:
    headers = _headers()
    copied = headers.copy()
    copied.add("New", "v")
    copied.remove("Host")
    assert "New" not in headers
    assert headers.get("Host") == "a"


def test_repr_shows_fields() -> None:
    assert repr(Headers([("A", "1")])) == "Headers([('A', '1')])"


@pytest.mark.parametrize(
    ("version", "protocol"), [((0, 9), "HTTP/0.9"), ((1, 0), "HTTP/1.0"), ((1, 1), "HTTP/1.1")]
)
def test_request_head_protocol(version: tuple[int, int], protocol: str) -> None:
    head = RequestHead("GET", "/", version, Headers(), "GET /")
    assert head.protocol == protocol


def test_request_head_is_frozen() -> None:
    head = RequestHead("GET", "/", (1, 1), Headers(), "GET / HTTP/1.1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        head.method = "POST"  # type: ignore[misc]
