"""Bounded property tests: whatever bytes arrive, the reader answers or raises HttpError.

Random bytes and mutated corpus requests go through parse_head, check_host, body_framing and the
body decoders, split at random points. Any exception other than HttpError is a bug (it would
reach the connection engine as a 500 or a dead worker). Feeding whole and byte by byte must also
give the same outcome. Derandomized and without an example database, so runs are repeatable and
leave no files behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pyhttpd.errors import HttpError  # noqa: E402
from pyhttpd.http.body import ChunkedDecoder  # noqa: E402
from pyhttpd.http.parser import Limits  # noqa: E402
from tests.http.replay import DEFAULT_LIMITS, replay, single_bytes  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "requests"
SEEDS = [path.read_bytes() for path in sorted(CORPUS.glob("*/*.http"))]
TOKENS = [
    b"\r",
    b"\n",
    b"\r\n",
    b"\r\n\r\n",
    b" ",
    b"\t",
    b":",
    b";",
    b",",
    b"\x00",
    b"\x7f",
    b"\xb2",
    b"\xff",
    b"0",
    b"ffffffffffffffff",
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"Host: a\r\n",
    b"Content-Length: 3\r\n",
    b"Content-Length: 99999999999999999999\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"0\r\n\r\n",
]

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def outcome(chunks: list[bytes], limits: Limits = DEFAULT_LIMITS, body_limit: int = 0) -> object:
    """What the reader made of the bytes: the requests and leftover, or the error status."""
    try:
        result = replay(chunks, limits, body_limit)
    except HttpError as error:
        assert 400 <= error.status < 600
        return ("error", error.status)
    requests = [
        (r.head.request_line, list(r.head.headers), r.host, r.body, r.trailers)
        for r in result.requests
    ]
    return ("ok", requests, result.leftover)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False) if b > a]


@st.composite
def mutated_requests(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["replace", "insert", "delete", "token", "repeat"]))
        if operation == "replace" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif operation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif operation == "delete":
            del data[position : position + draw(st.integers(1, 8))]
        elif operation == "token":
            data[position:position] = draw(st.sampled_from(TOKENS))
        else:
            data[position:position] = data[position : position + draw(st.integers(1, 40))]
    return bytes(data)


limits_strategy = st.builds(
    Limits,
    request_line=st.integers(1, 200),
    field_size=st.integers(1, 200),
    fields=st.integers(0, 10),
    allow_09=st.booleans(),
)


@FUZZ
@given(data=st.binary(max_size=512), cuts=st.lists(st.integers(0, 512), max_size=8))
def test_random_bytes_only_raise_http_error(data: bytes, cuts: list[int]) -> None:
    outcome(split(data, cuts))


@FUZZ
@given(data=mutated_requests(), cuts=st.lists(st.integers(0, 1024), max_size=8))
def test_mutated_requests_only_raise_http_error(data: bytes, cuts: list[int]) -> None:
    outcome(split(data, cuts), body_limit=64)


@FUZZ
@given(data=mutated_requests(), limits=limits_strategy, body_limit=st.integers(0, 64))
def test_whole_and_byte_by_byte_agree(data: bytes, limits: Limits, body_limit: int) -> None:
    assert outcome([data], limits, body_limit) == outcome(single_bytes(data), limits, body_limit)


@FUZZ
@given(data=st.binary(max_size=256), cuts=st.lists(st.integers(0, 256), max_size=6))
def test_chunked_decoder_on_random_bytes(data: bytes, cuts: list[int]) -> None:
    decoder = ChunkedDecoder(limit=128)
    buffer = bytearray()
    try:
        for chunk in split(data, cuts):
            buffer += chunk
            decoder.feed(buffer)
    except HttpError as error:
        assert error.status in (400, 413)
