"""Replay tests/requests/{valid,invalid}/*.http whole, line by line and byte by byte.

The file format is described in tests/requests/README.md. Every case runs under every feeding
mode, so a rule that only holds when a request arrives in one piece (or only when it trickles
in) shows up as a failure with the mode in its id, such as `valid/018-request-line-at-limit-bytes`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pyhttpd.errors import HttpError
from pyhttpd.http.parser import Limits
from tests.http.replay import FEEDERS, Parsed, replay

CORPUS = Path(__file__).resolve().parents[1] / "requests"


def _cases(kind: str) -> list[Any]:
    params = []
    for raw in sorted((CORPUS / kind).glob("*.http")):
        spec = json.loads(raw.with_suffix(".json").read_text(encoding="utf-8"))
        for mode in FEEDERS:
            case_id = f"{kind}/{raw.stem}-{spec['name']}-{mode}"
            params.append(pytest.param(raw, spec, mode, id=case_id))
    return params


def _limits(spec: dict[str, Any]) -> tuple[Limits, int]:
    options = dict(spec.get("limits", {}))
    body_limit = options.pop("body", 0)
    return Limits(**options), body_limit


def _expected_requests(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["requests"] if "requests" in spec else [spec]


def _check(parsed: Parsed, expected: dict[str, Any]) -> None:
    head = parsed.head
    assert head.method == expected["method"]
    assert head.target == expected["target"]
    assert head.protocol == expected["version"]
    assert [list(field) for field in head.headers] == expected["headers"]
    assert parsed.body.decode("latin-1") == expected["body"]
    assert [list(field) for field in parsed.trailers] == expected["trailers"]
    if "host" in expected:
        assert parsed.host == expected["host"]


@pytest.mark.parametrize(("path", "spec", "mode"), _cases("valid"))
def test_valid_request_parses(path: Path, spec: dict[str, Any], mode: str) -> None:
    limits, body_limit = _limits(spec)
    result = replay(FEEDERS[mode](path.read_bytes()), limits, body_limit)
    expected = _expected_requests(spec)
    assert len(result.requests) == len(expected)
    for parsed, wanted in zip(result.requests, expected, strict=True):
        _check(parsed, wanted)
    assert result.leftover == b""


@pytest.mark.parametrize(("path", "spec", "mode"), _cases("invalid"))
def test_invalid_request_rejected(path: Path, spec: dict[str, Any], mode: str) -> None:
    limits, body_limit = _limits(spec)
    with pytest.raises(HttpError) as raised:
        replay(FEEDERS[mode](path.read_bytes()), limits, body_limit)
    assert raised.value.status == spec["status"], raised.value.reason
    if "tag" in spec:
        assert raised.value.tag == spec["tag"]


def test_corpus_is_complete() -> None:
    """Each .http has its .json and the other way round; the corpus keeps its minimum size."""
    for kind, minimum in (("valid", 25), ("invalid", 35)):
        requests = {p.stem for p in (CORPUS / kind).glob("*.http")}
        expectations = {p.stem for p in (CORPUS / kind).glob("*.json")}
        assert requests == expectations, kind
        assert len(requests) >= minimum, kind
        names = [
            json.loads((CORPUS / kind / f"{stem}.json").read_text(encoding="utf-8"))["name"]
            for stem in requests
        ]
        assert len(set(names)) == len(names), f"duplicate names in {kind}"


@pytest.mark.parametrize("mode", list(FEEDERS))
def test_feeders_reassemble_the_input(mode: str) -> None:
    data = b"GET / HTTP/1.1\r\nHost: a\r\n\r\npartial"
    chunks = FEEDERS[mode](data)
    assert b"".join(chunks) == data
    assert all(chunks)
