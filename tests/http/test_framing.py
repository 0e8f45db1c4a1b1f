"""check_host and body_framing on heads built directly, without the parser."""

from __future__ import annotations

import pytest

from pyhttpd.errors import HttpError
from pyhttpd.http.framing import BodyKind, Framing, body_framing, check_host
from pyhttpd.http.messages import Headers, RequestHead


def head(*fields: tuple[str, str], version: tuple[int, int] = (1, 1)) -> RequestHead:
    return RequestHead("POST", "/", version, Headers(fields), "POST / HTTP/1.1")


def status_of(call: object) -> int:
    assert callable(call)
    with pytest.raises(HttpError) as raised:
        call()
    return raised.value.status


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "example.com:8080",
        "EXAMPLE.com.",
        "127.0.0.1",
        "127.0.0.1:80",
        "[::1]",
        "[::1]:443",
        "[2001:db8::1]:8080",
        "xn--caf-dma.example",
        "under_score.example",
        "",
        "host:",
    ],
)
def test_good_hosts_are_returned(host: str) -> None:
    assert check_host(head(("Host", host))) == host


@pytest.mark.parametrize(
    "host",
    [
        "exa mple.com",
        "user@example.com",
        "example.com:80:81",
        "example.com:port",
        "example.com/path",
        "[::1",
        "caf\xe9.example",
        'quote".example',
        "back\\slash",
        "tab\there",
    ],
)
def test_malformed_hosts_are_400(host: str) -> None:
    assert status_of(lambda: check_host(head(("Host", host)))) == 400


def test_missing_host_on_http11_is_400() -> None:
    assert status_of(lambda: check_host(head())) == 400


def test_missing_host_on_http10_is_none() -> None:
    assert check_host(head(version=(1, 0))) is None


def test_host_name_is_case_insensitive() -> None:
    assert check_host(head(("hOsT", "a.example"))) == "a.example"


def test_two_hosts_are_400_even_when_equal() -> None:
    assert status_of(lambda: check_host(head(("Host", "a"), ("host", "a")))) == 400


def test_two_hosts_on_http10_are_400() -> None:
    assert status_of(lambda: check_host(head(("Host", "a"), ("Host", "b"), version=(1, 0)))) == 400


def test_no_framing_headers_means_no_body() -> None:
    assert body_framing(head(("Host", "a"))) == Framing(BodyKind.NONE)


@pytest.mark.parametrize(
    ("value", "length"), [("1", 1), ("00042", 42), ("999999999999999999", 10**18 - 1)]
)
def test_content_length(value: str, length: int) -> None:
    assert body_framing(head(("Content-Length", value))) == Framing(BodyKind.LENGTH, length)


def test_content_length_zero_means_no_body() -> None:
    assert body_framing(head(("Content-Length", "0"))).kind is BodyKind.NONE


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-1",
        "+1",
        "1.0",
        "0x10",
        "1 2",
        "12abc",
        "1e3",
        "\xb2",
        "\xb9",
        "١٢",
        "1000000000000000000",
    ],
)
def test_bad_content_length_is_400(value: str) -> None:
    assert status_of(lambda: body_framing(head(("Content-Length", value)))) == 400


def test_conflicting_content_lengths_are_400() -> None:
    assert (
        status_of(lambda: body_framing(head(("Content-Length", "5"), ("Content-Length", "6"))))
        == 400
    )
    assert status_of(lambda: body_framing(head(("Content-Length", "5, 6")))) == 400


@pytest.mark.parametrize("coding", ["chunked", "Chunked", "CHUNKED", " chunked "])
def test_chunked(coding: str) -> None:
    assert body_framing(head(("Transfer-Encoding", coding))) == Framing(BodyKind.CHUNKED)


@pytest.mark.parametrize(
    "codings",
    [
        ["gzip"],
        ["gzip, chunked"],
        ["gzip", "chunked"],
        ["chunked, gzip"],
        ["chunked, chunked"],
        ["chunked", "chunked"],
        ["identity"],
        [""],
        ["chunked;q=1"],
    ],
    ids=repr,
)
def test_other_transfer_codings_are_400(codings: list[str]) -> None:
    """Apache 2.4 answers 400 (AH02539) when chunked is not the one and final coding."""
    fields = [("Transfer-Encoding", value) for value in codings]
    assert status_of(lambda: body_framing(head(*fields))) == 400


def test_transfer_encoding_with_content_length_is_400() -> None:
    fields = [("Content-Length", "3"), ("Transfer-Encoding", "chunked")]
    assert status_of(lambda: body_framing(head(*fields))) == 400


def test_transfer_encoding_on_http10_is_400() -> None:
    fields = [("Transfer-Encoding", "chunked")]
    assert status_of(lambda: body_framing(head(*fields, version=(1, 0)))) == 400


def test_framing_errors_close_the_connection() -> None:
    with pytest.raises(HttpError) as raised:
        body_framing(head(("Content-Length", "1"), ("Content-Length", "2")))
    assert raised.value.close
