"""parse_head edge cases the corpus cannot express: prefixes, offsets, early refusal, limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhttpd.errors import HttpError
from pyhttpd.http.parser import Limits, _request_line, parse_head

REQUEST = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"


def test_defaults_are_apaches_limits() -> None:
    limits = Limits()
    assert (limits.request_line, limits.field_size, limits.fields) == (8190, 8190, 100)
    assert limits.allow_09 is True


def test_every_proper_prefix_of_a_head_needs_more_bytes() -> None:
    for end in range(len(REQUEST)):
        assert parse_head(REQUEST[:end], Limits()) is None, REQUEST[:end]
    assert parse_head(REQUEST, Limits()) is not None


def test_empty_buffer_needs_more_bytes() -> None:
    assert parse_head(b"", Limits()) is None
    assert parse_head(bytearray(), Limits()) is None


def test_blank_lines_alone_need_more_bytes() -> None:
    assert parse_head(b"\r\n\r\n\n", Limits()) is None


def test_consumed_stops_at_the_end_of_the_head() -> None:
    """Trailing bytes (a body, the next pipelined request) are neither read nor counted."""
    for trailing in (b"", b"body bytes", b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n"):
        parsed = parse_head(REQUEST + trailing, Limits())
        assert parsed is not None
        head, consumed = parsed
        assert consumed == len(REQUEST)
        assert head.target == "/index.html"


def test_consumed_counts_skipped_blank_lines() -> None:
    parsed = parse_head(b"\r\n\n" + REQUEST, Limits())
    assert parsed is not None
    assert parsed[1] == len(REQUEST) + 3


def test_consumed_with_bare_lf_head() -> None:
    data = b"GET / HTTP/1.0\nX: 1\n\nrest"
    parsed = parse_head(data, Limits())
    assert parsed is not None
    assert data[parsed[1] :] == b"rest"


def test_http09_consumes_only_its_line() -> None:
    parsed = parse_head(b"GET /doc\r\nmore", Limits())
    assert parsed is not None
    head, consumed = parsed
    assert head.version == (0, 9)
    assert head.protocol == "HTTP/0.9"
    assert len(head.headers) == 0
    assert consumed == len(b"GET /doc\r\n")


def test_head_keeps_the_request_line_verbatim() -> None:
    parsed = parse_head(REQUEST, Limits())
    assert parsed is not None
    head = parsed[0]
    assert head.request_line == "GET /index.html HTTP/1.1"
    assert (head.method, head.version, head.protocol) == ("GET", (1, 1), "HTTP/1.1")
    assert head.headers.get("host") == "example.com"


def test_bytes_and_bytearray_parse_alike() -> None:
    from_bytes = parse_head(REQUEST, Limits())
    from_bytearray = parse_head(bytearray(REQUEST), Limits())
    assert from_bytes is not None and from_bytearray is not None
    assert from_bytes[1] == from_bytearray[1]
    assert list(from_bytes[0].headers) == list(from_bytearray[0].headers)


def test_parse_head_does_not_modify_the_buffer() -> None:
    buffer = bytearray(REQUEST + b"next")
    parse_head(buffer, Limits())
    assert buffer == REQUEST + b"next"


def test_huge_request_line_without_newline_is_refused_early() -> None:
    """LimitRequestLine is enforced on what has arrived, not after a newline that never comes."""
    with pytest.raises(HttpError) as raised:
        parse_head(b"GET /" + b"a" * 9000, Limits())
    assert raised.value.status == 414
    assert raised.value.close


def test_request_line_at_limit_waits_for_the_lf_after_its_cr() -> None:
    """A line of exactly LimitRequestLine bytes plus its CR is not yet over the limit."""
    line = b"GET /" + b"a" * 11 + b" HTTP/1.0"
    limits = Limits(request_line=len(line))
    assert parse_head(line, limits) is None
    assert parse_head(line + b"\r", limits) is None
    assert parse_head(line + b"\r\n\r\n", limits) is not None
    with pytest.raises(HttpError) as raised:
        parse_head(line + b"a", limits)
    assert raised.value.status == 414


def test_request_line_one_over_limit_is_414_when_complete() -> None:
    line = b"GET /" + b"a" * 12 + b" HTTP/1.0"
    with pytest.raises(HttpError) as raised:
        parse_head(line + b"\r\n\r\n", Limits(request_line=len(line) - 1))
    assert raised.value.status == 414


def test_blank_lines_do_not_count_against_the_request_line() -> None:
    line = b"GET / HTTP/1.0"
    parsed = parse_head(b"\r\n" * 10 + line + b"\r\n\r\n", Limits(request_line=len(line)))
    assert parsed is not None


def test_more_than_ten_blank_lines_are_refused_as_apache_does() -> None:
    with pytest.raises(HttpError) as raised:
        parse_head(b"\r\n" * 11 + b"GET / HTTP/1.0\r\n\r\n", Limits())
    assert raised.value.status == 400


def test_huge_header_line_without_newline_is_refused_early() -> None:
    with pytest.raises(HttpError) as raised:
        parse_head(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"v" * 9000, Limits())
    assert raised.value.status == 400


def test_header_line_at_limit_waits_for_its_lf() -> None:
    field = b"X-Long: " + b"v" * 12
    limits = Limits(field_size=len(field))
    head = b"GET / HTTP/1.0\r\n" + field
    assert parse_head(head + b"\r", limits) is None
    assert parse_head(head + b"\r\n\r\n", limits) is not None


def test_too_many_fields_refused_before_the_head_ends() -> None:
    partial = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(5))
    with pytest.raises(HttpError) as raised:
        parse_head(partial, Limits(fields=4))
    assert raised.value.status == 400


def test_fields_limit_zero_means_unlimited() -> None:
    head = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(300)) + b"\r\n"
    parsed = parse_head(head, Limits(fields=0))
    assert parsed is not None
    assert len(parsed[0].headers) == 300


def test_default_limit_of_100_fields() -> None:
    def head(count: int) -> bytes:
        return b"GET / HTTP/1.0\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(count)) + b"\r\n"

    assert parse_head(head(100), Limits()) is not None
    with pytest.raises(HttpError):
        parse_head(head(101), Limits())


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"GET / HTTP/2.0", 505),
        (b"GET / HTTP/3.0", 505),
        (b"GET / HTTP/1.1", None),
        (b"GET / HTTP/1.0", None),
        (b"GET / HTTP/0.9", 400),
        (b"GET / HTTP/1.10", 400),
        (b"GET / HTTPS/1.1", 400),
        (b"GET / HTTP/1", 400),
        (b"GET /\x00 HTTP/1.1", 400),
        (b"GET / HTTP/1.1\x00", 400),
        (b"G\x00T / HTTP/1.1", 400),
        (b"GET /a b HTTP/1.1", 400),
        (b"GET", 400),
        (b"GET ", 400),
        (b"OPTIONS * HTTP/1.1", None),
    ],
    ids=repr,
)
def test_request_line_verdicts(request_line: bytes, status: int | None) -> None:
    data = request_line + b"\r\nHost: a\r\n\r\n"
    if status is None:
        parse_head(data, Limits())
        return
    with pytest.raises(HttpError) as raised:
        parse_head(data, Limits())
    assert raised.value.status == status


def test_http09_refused_when_not_allowed() -> None:
    with pytest.raises(HttpError) as raised:
        parse_head(b"GET /\r\n", Limits(allow_09=False))
    assert raised.value.status == 400


@pytest.mark.parametrize(
    "field",
    [
        b"X-Tab\t: v",
        b"X(Bad): v",
        b"X Space: v",
        b"\tX: folded",
        b"X: a\x00b",
        b"X: a\x7fb",
        b"X: a\x1bb",
        b"X: a\rb",
    ],
    ids=repr,
)
def test_malformed_fields_are_400(field: bytes) -> None:
    with pytest.raises(HttpError) as raised:
        parse_head(b"GET / HTTP/1.1\r\nHost: a\r\n" + field + b"\r\n\r\n", Limits())
    assert raised.value.status == 400


def test_value_keeps_inner_whitespace_and_obs_text() -> None:
    parsed = parse_head(b"GET / HTTP/1.0\r\nX:  a \t b \xff\t \r\n\r\n", Limits())
    assert parsed is not None
    assert parsed[0].headers.get("X") == "a \t b \xff"


def test_field_without_space_after_colon() -> None:
    parsed = parse_head(b"GET / HTTP/1.0\r\nX:v\r\n\r\n", Limits())
    assert parsed is not None
    assert list(parsed[0].headers) == [("X", "v")]


def test_colon_in_value_is_kept() -> None:
    parsed = parse_head(b"GET / HTTP/1.1\r\nHost: a:8080\r\nX: b: c\r\n\r\n", Limits())
    assert parsed is not None
    assert list(parsed[0].headers) == [("Host", "a:8080"), ("X", "b: c")]


def test_errors_carry_a_tag_and_close_the_connection() -> None:
    with pytest.raises(HttpError) as raised:
        parse_head(b"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", Limits())
    assert raised.value.tag.startswith("AH")
    assert raised.value.close
    assert raised.value.reason


_LINE_PARTS = st.tuples(
    st.sampled_from([b"GET", b"FOO", b"G\x00T", b"", b"M-SEARCH", b"G(T", b"PROPFIND"]),
    st.sampled_from([b" ", b"  ", b"\t", b""]),
    st.binary(max_size=12).map(lambda raw: b"/" + raw.replace(b"\n", b"").replace(b"\r", b""))
    | st.sampled_from([b"/", b"/a b", b"*", b"/\x7f", b"/\xe9", b"", b"/\x00"]),
    st.sampled_from([b" ", b"  ", b"\t", b""]),
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"http/1.1", b"HTTP/2.0", b"HTTP/1.1 ", b"",
                     b"HTTP/0.9", b"HTTP/1.10", b"HTTP/3"]),
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(line=_LINE_PARTS.map(b"".join), strict_methods=st.booleans())
def test_the_usual_request_line_match_agrees_with_the_full_check(
    line: bytes, strict_methods: bool
) -> None:
    """parse_head's one-regex path for the usual line gives what _request_line gives."""
    limits = Limits(registered_methods=strict_methods)
    try:
        expected: object = _request_line(line, limits)
    except HttpError as error:
        expected = error.status
    try:
        parsed = parse_head(line + b"\r\nHost: x\r\n\r\n", limits)
        got: object = None
        if parsed is not None:
            head = parsed[0]
            got = (head.method, head.target, head.version)
    except HttpError as error:
        got = error.status
    assert got == expected


# --- heads parsed before (parser._PARSED) ---------------------------------------------------------

REPEATED = b"FOO /a HTTP/1.1\r\nHost: x\r\nX-Two: 2\r\n\r\n"


def test_a_head_parsed_again_is_shared_and_a_private_copy_is_its_own() -> None:
    first, consumed = parse_head(bytearray(REPEATED + b"GET /next"), Limits()) or (None, 0)
    assert first is not None and consumed == len(REPEATED)
    assert first.raw == REPEATED  # the bytes the replays are keyed by
    own = first.private()  # what a Request gets
    own.headers.set("X-Two", "edited")  # a hook edits its request's head
    assert not own.raw and own.private() is own
    again, consumed_again = parse_head(bytearray(REPEATED), Limits()) or (None, 0)
    assert again is first and consumed_again == len(REPEATED)
    assert (again.method, again.target, again.version) == ("FOO", "/a", (1, 1))
    assert list(again.headers) == [("Host", "x"), ("X-Two", "2")]


def test_a_head_not_kept_has_no_raw_bytes() -> None:
    """Too long to keep, or ended by bare LFs: no replay key, parsed on each arrival."""
    long_head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 5000 + b"\r\n\r\n"
    for buffer in (long_head, b"GET / HTTP/1.1\nHost: x\n\n"):
        parsed = parse_head(buffer, Limits())
        assert parsed is not None and parsed[0].raw == b""
        assert parsed[0].private() is parsed[0]


def test_a_head_parsed_again_under_other_limits_is_checked_again() -> None:
    assert parse_head(REPEATED, Limits()) is not None
    with pytest.raises(HttpError) as raised:
        parse_head(REPEATED, Limits(registered_methods=True))
    assert raised.value.status == 501
    with pytest.raises(HttpError) as raised:
        parse_head(REPEATED, Limits(fields=1))
    assert raised.value.status == 400


def test_a_bare_lf_head_before_a_crlf_one_is_not_taken_for_it() -> None:
    """The first head ends at its LF LF: the CRLF CRLF further on is the next request's."""
    second = b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
    assert parse_head(second, Limits()) is not None  # known by its bytes
    pipelined = b"GET /a HTTP/1.1\nHost: x\n\n" + second
    head, consumed = parse_head(pipelined, Limits()) or (None, 0)
    assert head is not None and head.target == "/a" and consumed == pipelined.index(b"GET /b")


def test_a_long_head_is_parsed_but_not_kept() -> None:
    from pyhttpd.http import parser

    long_head = b"GET /a HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * parser.KEPT_HEAD_MAX + b"\r\n\r\n"
    parser._PARSED.clear()
    assert parse_head(long_head, Limits(field_size=2 * parser.KEPT_HEAD_MAX)) is not None
    assert parse_head(REPEATED, Limits()) is not None
    assert list(parser._PARSED) == [REPEATED]
