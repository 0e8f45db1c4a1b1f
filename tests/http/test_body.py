"""LengthDecoder and ChunkedDecoder: partial feeds, leftovers, limits, trailers, line bounds."""

from __future__ import annotations

import pytest

from pyhttpd.errors import HttpError
from pyhttpd.http.body import MAX_CHUNK_LINE, MAX_TRAILER_BYTES, ChunkedDecoder, LengthDecoder


def feed_in_pieces(decoder: LengthDecoder | ChunkedDecoder, data: bytes, size: int) -> bytes:
    """Feed `data` `size` bytes at a time through one persistent buffer, as a connection does."""
    buffer = bytearray()
    out = bytearray()
    for start in range(0, len(data), size):
        buffer += data[start : start + size]
        out += decoder.feed(buffer)
    return bytes(out)


# LengthDecoder


def test_length_reads_exactly_and_leaves_the_rest() -> None:
    decoder = LengthDecoder(5)
    buffer = bytearray(b"helloGET / HTTP/1.1\r\n")
    assert decoder.feed(buffer) == b"hello"
    assert decoder.done
    assert buffer == b"GET / HTTP/1.1\r\n"
    assert decoder.feed(buffer) == b""
    assert buffer == b"GET / HTTP/1.1\r\n"


def test_length_partial_feeds() -> None:
    decoder = LengthDecoder(10)
    buffer = bytearray(b"abc")
    assert decoder.feed(buffer) == b"abc"
    assert not decoder.done
    assert decoder.remaining == 7
    assert buffer == b""
    assert decoder.feed(buffer) == b""
    buffer += b"defghijXYZ"
    assert decoder.feed(buffer) == b"defghij"
    assert decoder.done
    assert buffer == b"XYZ"


def test_length_zero_is_done_at_once() -> None:
    decoder = LengthDecoder(0)
    assert decoder.done
    buffer = bytearray(b"next")
    assert decoder.feed(buffer) == b""
    assert buffer == b"next"


def test_length_over_limit_is_413_before_reading() -> None:
    with pytest.raises(HttpError) as raised:
        LengthDecoder(11, limit=10)
    assert raised.value.status == 413
    assert raised.value.close


def test_length_at_limit_and_no_limit() -> None:
    assert feed_in_pieces(LengthDecoder(10, limit=10), b"x" * 10, 3) == b"x" * 10
    assert LengthDecoder(10**15).remaining == 10**15


# ChunkedDecoder

CHUNKED = b"4;a=b\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\nX-T:\tv \r\n\r\n"
DECODED = b"Wikipedia in\r\n\r\nchunks."


@pytest.mark.parametrize("size", [1, 2, 3, 7, len(CHUNKED)])
def test_chunked_any_split_gives_the_same_body(size: int) -> None:
    decoder = ChunkedDecoder()
    assert feed_in_pieces(decoder, CHUNKED, size) == DECODED
    assert decoder.done
    assert decoder.trailers == [("Expires", "never"), ("X-T", "v")]


def test_chunked_leaves_the_next_request_in_the_buffer() -> None:
    decoder = ChunkedDecoder()
    buffer = bytearray(b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n")
    assert decoder.feed(buffer) == b"abc"
    assert decoder.done
    assert buffer == b"GET / HTTP/1.1\r\n"


def test_chunked_is_not_done_before_the_final_empty_line() -> None:
    decoder = ChunkedDecoder()
    buffer = bytearray(b"3\r\nabc\r\n0\r\n")
    assert decoder.feed(buffer) == b"abc"
    assert not decoder.done
    buffer += b"\r"
    decoder.feed(buffer)
    assert not decoder.done
    buffer += b"\n"
    decoder.feed(buffer)
    assert decoder.done
    assert decoder.trailers == []


def test_chunked_waits_on_a_lone_cr_after_data() -> None:
    decoder = ChunkedDecoder()
    buffer = bytearray(b"3\r\nabc\r")
    assert decoder.feed(buffer) == b"abc"
    assert buffer == b"\r"
    buffer += b"\n0\r\n\r\n"
    decoder.feed(buffer)
    assert decoder.done


def test_chunked_feed_returns_nothing_without_bytes() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(bytearray()) == b""
    assert not decoder.done


def test_chunked_size_with_leading_zeros_and_mixed_case() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(
        bytearray(b"000a\r\n0123456789\r\nfF\r\n" + b"y" * 255 + b"\r\n0\r\n\r\n")
    ) == (b"0123456789" + b"y" * 255)
    assert decoder.done


def test_chunked_whitespace_before_extension() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(bytearray(b"2 \t;x\r\nok\r\n0 \r\n\r\n")) == b"ok"
    assert decoder.done


@pytest.mark.parametrize(
    "data",
    [
        b"zz\r\n",
        b"-1\r\n",
        b" 1\r\nx\r\n",
        b"1 1\r\nx\r\n",
        b"0x1\r\nx\r\n",
        b"\r\n",
        b";ext\r\n",
        b"10000000000000000\r\n",
        b"3\r\nabcX",
        b"3\r\nabc\rX",
        b"0\r\nno colon\r\n\r\n",
        b"0\r\n: empty name\r\n\r\n",
        b"0\r\n folded: v\r\n\r\n",
        b"0\r\nName : v\r\n\r\n",
    ],
    ids=repr,
)
def test_chunked_syntax_errors_are_400(data: bytes) -> None:
    for size in (1, len(data)):
        with pytest.raises(HttpError) as raised:
            feed_in_pieces(ChunkedDecoder(), data, size)
        assert raised.value.status == 400


def test_chunked_limit_counts_the_whole_body() -> None:
    data = b"6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n"
    assert feed_in_pieces(ChunkedDecoder(limit=12), data, 1) == b"abcdefghijkl"
    with pytest.raises(HttpError) as raised:
        feed_in_pieces(ChunkedDecoder(limit=11), data, 1)
    assert raised.value.status == 413


def test_chunked_limit_refuses_a_declared_size_before_its_data() -> None:
    decoder = ChunkedDecoder(limit=100)
    with pytest.raises(HttpError) as raised:
        decoder.feed(bytearray(b"FFFF\r\n"))
    assert raised.value.status == 413


@pytest.mark.parametrize("size", [1, 5, 10_000])
def test_chunk_extension_bound_is_the_same_however_it_arrives(size: int) -> None:
    """Apache bounds the chunk-size line by LimitRequestFieldSize; pyhttpd uses 8190."""
    prefix = b"1;e="
    at_limit = prefix + b"x" * (MAX_CHUNK_LINE - len(prefix)) + b"\r\nZ\r\n0\r\n\r\n"
    assert feed_in_pieces(ChunkedDecoder(), at_limit, size) == b"Z"
    over = prefix + b"x" * (MAX_CHUNK_LINE - len(prefix) + 1) + b"\r\nZ\r\n0\r\n\r\n"
    with pytest.raises(HttpError) as raised:
        feed_in_pieces(ChunkedDecoder(), over, size)
    assert raised.value.status == 400


@pytest.mark.parametrize("size", [1, 7, 10_000])
def test_trailer_line_bound_is_the_same_however_it_arrives(size: int) -> None:
    name = b"X-Big: "
    at_limit = b"0\r\n" + name + b"v" * (MAX_TRAILER_BYTES - len(name)) + b"\r\n\r\n"
    decoder = ChunkedDecoder()
    feed_in_pieces(decoder, at_limit, size)
    assert decoder.done
    over = b"0\r\n" + name + b"v" * (MAX_TRAILER_BYTES - len(name) + 1) + b"\r\n\r\n"
    with pytest.raises(HttpError) as raised:
        feed_in_pieces(ChunkedDecoder(), over, size)
    assert raised.value.status == 400


def test_endless_chunk_size_line_is_refused_early() -> None:
    decoder = ChunkedDecoder()
    with pytest.raises(HttpError):
        decoder.feed(bytearray(b"1;" + b"e" * (MAX_CHUNK_LINE + 10)))
