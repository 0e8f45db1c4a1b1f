"""Replays (pyhttpd/http/replay.py): a static response sent again without walking the hooks.

Through the real engine on real loopback sockets: the same requests are served by a generation
whose hooks are all replayable and by one with a hook that is not, and the answers must be the
same bytes (but the Date) and log the same lines (but the time) — while a counting hook shows the
first generation walked its hooks once per distinct request only. Then the file, the walk's
access files and the hooks' say each end a replay.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
from pathlib import Path

import pytest

from pyhttpd.http.phases import DECLINED, Phase, replayable
from pyhttpd.http.request import Request
from tests.harness.engine import engine_generation, serve_in_turn, serve_once
from tests.harness.server import ServerRoot, running_server

PAGE = b"<html>replayed</html>\n"
LOG_FORMAT = '"%h %u \\"%r\\" %>s %b %B %f %{Content-Type}o %{Keep-Alive}o %{Connection}o %k"'


def requests(*lines: str) -> bytes:
    return b"".join(line.encode() for line in lines)


GET = "GET /page.html HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\n\r\n"
HEAD = "HEAD /page.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
GET_10 = "GET /page.html HTTP/1.0\r\n\r\n"
GET_10_KA = "GET /page.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
RANGE = "GET /page.html HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-3\r\n\r\n"
MISSING = "GET /missing.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
CLOSE = "GET /page.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def split_responses(answer: bytes) -> list[bytes]:
    """The responses in a connection's answer, each with its Content-Length of body (none
    after a HEAD's head: the next response starts right after it)."""
    responses = []
    while answer:
        end = answer.index(b"\r\n\r\n") + 4
        head = answer[:end]
        length = re.search(rb"\r\nContent-Length: (\d+)", head)
        size = int(length[1]) if length else 0
        if not answer[end:].startswith(b"HTTP/1.1 ") or size == 0:
            end += size
        responses.append(answer[:end])
        answer = answer[end:]
    return responses


def without_dates(data: bytes) -> bytes:
    data = re.sub(rb"Date: [^\r]*", b"Date: -", data)
    return re.sub(rb"\[[^]]*\]", b"[-]", data)


class Counting:
    """A translate_name hook that only counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: Request) -> int:
        self.calls += 1
        return DECLINED


def serve(root: ServerRoot, data: bytes, pure: bool, config: str) -> tuple[bytes, int, int]:
    """Serve `data` on one connection; return the answer, the counting hook's calls and how
    many replays the generation kept."""
    counting = Counting()
    hook = replayable(counting) if pure else counting
    with engine_generation(root, {Phase.TRANSLATE_NAME: hook}, config) as (generation, _):
        answer, _ = serve_once(generation, data)
        kept = len(generation.replays)
    return answer, counting.calls, kept


@pytest.fixture
def root(tmp_path: Path) -> ServerRoot:
    root = ServerRoot(tmp_path)
    page = root.htdocs / "page.html"
    page.write_bytes(PAGE)
    settled = page.stat().st_mtime - 10  # the sender keeps only files still for a while
    os.utime(page, (settled, settled))
    return root


@pytest.mark.parametrize(
    "config",
    [
        "MaxKeepAliveRequests 0",
        "MaxKeepAliveRequests 6",
        f"CustomLog logs/access_log {LOG_FORMAT}",
        "KeepAlive Off",
    ],
)
@pytest.mark.parametrize("line", [GET, HEAD, GET_10, GET_10_KA, RANGE, MISSING])
def test_a_replay_sends_the_bytes_and_logs_the_line_the_hooks_would(
    root: ServerRoot, line: str, config: str
) -> None:
    data = requests(*[line] * 4, CLOSE)
    replayed, calls, kept = serve(root, data, pure=True, config=config)
    log = root.path / "logs" / "access_log"
    replayed_log = log.read_bytes() if log.exists() else b""
    log.unlink(missing_ok=True)
    walked, walked_calls, walked_kept = serve(root, data, pure=False, config=config)
    walked_log = log.read_bytes() if log.exists() else b""
    assert without_dates(replayed) == without_dates(walked)
    assert without_dates(replayed_log) == without_dates(walked_log)
    assert walked_kept == 0
    answered = len(split_responses(walked))
    if "KeepAlive Off" in config or line == GET_10:
        assert answered == 1  # the first response closes the connection
        return
    assert answered == 5
    if line == MISSING:  # a 404 is not kept (the closing GET is)
        assert (calls, kept) == (5, 1)
    elif line == RANGE:  # a 206 is not kept, but its lookup is
        assert (calls, kept) == (2, 1)
    else:  # walked for the first request and the closing one, replayed for the others
        assert (calls, kept) == (2, 2)


def test_max_keep_alive_requests_counts_down_and_closes_through_replays(root: ServerRoot) -> None:
    answer, calls, _ = serve(root, requests(*[GET] * 4), True, "MaxKeepAliveRequests 3")
    responses = split_responses(answer)
    assert [re.search(rb"Keep-Alive: ([^\r]*)|Connection: close", r)[0] for r in responses] == [
        b"Keep-Alive: timeout=5, max=2",
        b"Keep-Alive: timeout=5, max=1",
        b"Connection: close",
    ]
    assert calls == 1


def test_a_changed_file_ends_its_replay(root: ServerRoot) -> None:
    page = root.htdocs / "page.html"
    counting = Counting()
    with engine_generation(root, {Phase.TRANSLATE_NAME: replayable(counting)}) as (gen, _):
        serve_once(gen, requests(GET, GET))
        page.write_bytes(b"a longer page than before\n")
        answer, _ = serve_once(gen, requests(GET, CLOSE))
        assert answer.count(b"a longer page than before") == 2
        assert counting.calls == 3  # the first two requests (one walk), then the changed file
        page.unlink()
        answer, _ = serve_once(gen, requests(GET))
        assert answer.startswith(b"HTTP/1.1 404 ")


def test_an_access_file_that_appears_ends_the_replay(root: ServerRoot) -> None:
    """AllowOverride unset: Apache reads .htaccess (and a directive it cannot take is a 500)."""
    counting = Counting()
    with engine_generation(root, {Phase.TRANSLATE_NAME: replayable(counting)}) as (gen, _):
        answer, _ = serve_once(gen, requests(GET, GET))
        assert answer.count(b"200 OK") == 2
        (root.htdocs / ".htaccess").write_text("NoSuchDirective on\n")
        answer, _ = serve_once(gen, requests(GET))
        assert answer.startswith(b"HTTP/1.1 500 ")


def test_a_hook_that_reads_the_client_can_refuse_the_replay(root: ServerRoot) -> None:
    def by_client(request: Request) -> int:
        request.notes["seen"] = request.client[0]
        request.replayable = False
        return DECLINED

    with engine_generation(root, {Phase.FIXUPS: replayable(by_client)}) as (generation, _):
        serve_once(generation, requests(GET, GET, GET))
        assert generation.replays == {}


def test_the_daemon_replays_and_sees_a_rewritten_file(tmp_path: Path) -> None:
    """pyhttpd -X, real keep-alive connection: the rewritten page is served at once."""
    root = ServerRoot(tmp_path)
    root.write_config("KeepAlive On")
    page = root.htdocs / "page.html"
    page.write_bytes(PAGE)
    with running_server(root):
        connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=5)
        for _ in range(3):
            connection.request("GET", "/page.html")
            assert connection.getresponse().read() == PAGE
        page.write_bytes(b"rewritten\n")
        connection.request("GET", "/page.html")
        assert connection.getresponse().read() == b"rewritten\n"
        connection.close()


def load(*names: str) -> str:
    return "\n".join(f"LoadModule {name}_module modules/mod_{name}.so" for name in names)


DEFAULT_LIKE = load(
    "mime",
    "dir",
    "alias",
    "env",
    "setenvif",
    "authz_core",
    "authz_host",
    "access_compat",
    "deflate",
    "autoindex",
    "status",
    "headers",
    "expires",
    "remoteip",
)
MIME_TYPES = Path(__file__).resolve().parents[2] / "conf" / "mime.types"
DEFAULT_LIKE += f"\nTypesConfig {MIME_TYPES}"
GRANTED = "<Directory htdocs>\n  Require all granted\n</Directory>"
PLAIN = "GET /page.html HTTP/1.1\r\nHost: localhost\r\n\r\n"


REPLAYED, LOOKED_UP, WALKED = "replayed", "looked up", "walked"


@pytest.mark.parametrize(
    ("config", "line", "kept"),
    [
        pytest.param(GRANTED, PLAIN, REPLAYED, id="pure modules"),
        pytest.param(
            f"{GRANTED}\nBrowserMatch ^t$ tested\nSetEnv A b\nAddType text/x-page .html\n"
            'Header set X-Frame-Options DENY\nHeader set X-Seen "%{tested}e"\n'
            "Alias /other/ htdocs/\nSetOutputFilter DEFLATE",
            GET,
            REPLAYED,
            id="header-driven directives",
        ),
        pytest.param(
            "<Directory htdocs>\n  Require ip 127.0.0.1\n</Directory>", PLAIN, WALKED, id="ip"
        ),
        pytest.param(
            f"{GRANTED}\n<Directory htdocs>\n  Order allow,deny\n  Allow from 127.0.0.1\n"
            "</Directory>",
            PLAIN,
            WALKED,
            id="Allow from",
        ),
        pytest.param(f"{GRANTED}\nSetEnvIf Remote_Addr ^127 local", PLAIN, WALKED, id="env ip"),
        pytest.param(f'{GRANTED}\nSetEnvIfExpr "true" x', PLAIN, WALKED, id="expression"),
        pytest.param(f'{GRANTED}\n<If "true">\n</If>', PLAIN, WALKED, id="If"),
        pytest.param(f'{GRANTED}\nHeader set X-Time "%t"', PLAIN, LOOKED_UP, id="header time"),
        pytest.param(f"{GRANTED}\nRequestHeader set X-A b", PLAIN, WALKED, id="request header"),
        pytest.param(
            f'{GRANTED}\nExpiresActive On\nExpiresDefault "access plus 1 hour"',
            PLAIN,
            LOOKED_UP,
            id="expires",
        ),
        pytest.param(
            f"{GRANTED}\nRemoteIPHeader X-Forwarded-For",
            "GET /page.html HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
            WALKED,
            id="remoteip",
        ),
        pytest.param(
            f"{GRANTED}\nDirectoryIndex page.html",
            "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
            WALKED,
            id="index",
        ),
        pytest.param(
            f"{GRANTED}\nFallbackResource /page.html",
            "GET /gone.html HTTP/1.1\r\nHost: localhost\r\n\r\n",
            WALKED,
            id="fallback",
        ),
    ],
)
def test_modules_replay_what_depends_on_the_head_alone(
    root: ServerRoot, config: str, line: str, kept: str
) -> None:
    data = requests(*[line] * 3, CLOSE.replace("/page.html", "/missing.html"))
    replayed, calls, replays = serve(root, data, pure=True, config=f"{DEFAULT_LIKE}\n{config}")
    walked, _, _ = serve(root, data, pure=False, config=f"{DEFAULT_LIKE}\n{config}")
    statuses = [r.split(b" ", 2)[1] for r in split_responses(replayed)]
    assert statuses[:3] == [b"200"] * 3
    if "%t" not in config and "Expires" not in config:
        assert without_dates(replayed) == without_dates(walked)
    if kept == REPLAYED:
        assert (replays, calls) == (1, 2)  # the first and the last request walked
    elif kept == LOOKED_UP:  # the response depends on more, but its lookup does not
        assert (replays, calls) == (0, 2)
    else:
        assert replays == 0 and calls >= 4  # (a sub-request walks translate_name too)


COUNTING_APP = """calls = 0
def application(environ, start_response):
    global calls
    calls += 1
    start_response("200 OK", [("X-Calls", str(calls))])
    return environ["wsgi.file_wrapper"](open({page!r}, "rb"))
"""


def test_a_static_file_beside_a_wsgi_application_is_replayed_but_the_application_is_not(
    root: ServerRoot,
) -> None:
    """mod_wsgi's handler declines on the handler name alone; when it takes a request, the
    application answers every time, even with a file_wrapper around a regular file."""
    script = root.path / "app.wsgi"
    script.write_text(COUNTING_APP.format(page=str(root.htdocs / "page.html")))
    config = f"{load('wsgi', 'authz_core')}\n{GRANTED}\nWSGIScriptAlias /app {script}"
    app = PLAIN.replace("/page.html", "/app")
    answer, calls, kept = serve(
        root, requests(PLAIN, PLAIN, PLAIN, app, app, app, CLOSE), True, config
    )
    responses = split_responses(answer)
    assert [r.split(b" ", 2)[1] for r in responses] == [b"200"] * 7
    assert [re.findall(rb"X-Calls: (\d+)", r) for r in responses[3:6]] == [[b"1"], [b"2"], [b"3"]]
    assert all(r.endswith(PAGE) for r in responses)
    # page.html walked once (and its closing GET); the app once, then from its kept lookup
    assert (calls, kept) == (3, 2)


ENVIRON_APP = """import json
def application(environ, start_response):
    own = ("wsgi.input", "wsgi.errors", "mod_wsgi.request_start")
    seen = {k: v for k, v in environ.items() if k not in own and isinstance(v, str)}
    environ["HTTP_X_MUTATED"] = "yes"  # the application's own copy: not the next request's
    del environ["SCRIPT_NAME"]
    body = json.dumps([seen, sorted(environ), environ["mod_wsgi.request_start"]]).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""


@pytest.mark.parametrize("set_env", ["", "SetEnv REMOTE_PORT fixed"])
def test_a_kept_lookup_builds_the_wsgi_environ_once_but_each_request_gets_its_own(
    root: ServerRoot, set_env: str
) -> None:
    """From a kept lookup's memo, each request's environ is the one the full build makes: its
    own client port (the lookup is shared by connections), start time, input and errors, and
    nothing an earlier application changed; an entry SetEnv fixes stays fixed."""
    script = root.path / "app.wsgi"
    script.write_text(ENVIRON_APP)
    config = f"{load('wsgi', 'env', 'authz_core')}\n{GRANTED}\nWSGIScriptAlias /app {script}"
    app = PLAIN.replace("/page.html", "/app")
    with engine_generation(root, {}, f"{config}\n{set_env}") as (generation, _):
        answers = serve_in_turn(generation, [requests(app, app, app)] * 2)
        assert len(generation.lookups) == 1
    environs = [
        json.loads(response.split(b"\r\n\r\n", 1)[1])
        for answer in answers
        for response in split_responses(answer)
    ]
    assert len(environs) == 6
    built = environs[0]  # the first request walked: its environ was built in full
    for seen, keys, start in environs:
        ports = {"REMOTE_PORT": seen["REMOTE_PORT"]}
        assert seen == built[0] | ports and keys == built[1] and "HTTP_X_MUTATED" not in seen
        assert int(start) > 0
    ports = [seen["REMOTE_PORT"] for seen, _, _ in environs]
    if set_env:
        assert set(ports) == {"fixed"}
    else:  # two connections, one port each
        assert ports[0] == ports[1] == ports[2] != ports[3] == ports[4] == ports[5]
    assert len({start for _, _, start in environs}) > 1


def test_a_hook_edits_its_own_copy_of_a_head_that_arrives_again(root: ServerRoot) -> None:
    """The parser shares a head that arrives as the same bytes again (RequestHead.raw): each
    request's RequestHeader works on its own copy, so an append is never appended twice."""
    line = "GET /page.html HTTP/1.1\r\nHost: localhost\r\nX-A: a\r\n\r\n"
    config = f"{DEFAULT_LIKE}\n{GRANTED}\nRequestHeader append X-A b\nHeader echo ^X-A$"
    answer, calls, _ = serve(root, requests(line, line, line, CLOSE), True, config)
    responses = split_responses(answer)
    assert len(responses) == 4 and calls >= 4  # RequestHeader: walked every time
    assert [r.count(b"\r\nX-A: a, b\r\n") for r in responses[:3]] == [1, 1, 1]


def test_a_request_with_a_long_head_is_not_kept(root: ServerRoot) -> None:
    """The table's keys hold the fields: a client must not make a process keep megabytes."""
    big = "GET /page.html HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "y" * 5000 + "\r\n\r\n"
    _, calls, kept = serve(root, requests(big, big, GET), True, "LimitRequestFieldSize 8190")
    assert (calls, kept) == (3, 1)  # the long head walked both times; the short one was kept


# --- lookups: a handler goes on from the lookup phases' outcome ---------------------------------


def echo(request: Request) -> int:
    """A dynamic handler: what the lookup phases left on the request, and its fresh stat."""
    request.content_type = "text/plain"
    size = request.stat.st_size if request.stat else -1
    request.body = (
        f"{request.filename} {request.uri}?{request.query} {request.environment.get('A')} "
        f"{request.per_dir.get('AddDefaultCharset')} {size} {request.client[0]}\n"
    ).encode()
    return 0


def serve_dynamic(root: ServerRoot, data: bytes, pure: bool) -> tuple[bytes, int, int]:
    counting = Counting()
    hook = replayable(counting) if pure else counting
    hooks = {Phase.TRANSLATE_NAME: hook, Phase.HANDLER: echo}
    config = f"{load('env')}\nSetEnv A b\nAddDefaultCharset utf-8"
    with engine_generation(root, hooks, config) as (generation, _):
        answer, _ = serve_once(generation, data)
        lookups = len(generation.lookups)
    return answer, counting.calls, lookups


def test_a_dynamic_response_goes_on_from_the_kept_lookup(root: ServerRoot) -> None:
    line = "GET /page.html?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"
    data = requests(*[line] * 4, CLOSE)
    looked_up, calls, lookups = serve_dynamic(root, data, pure=True)
    walked, walked_calls, walked_lookups = serve_dynamic(root, data, pure=False)
    assert without_dates(looked_up) == without_dates(walked)
    assert b"/page.html?x=1 b utf-8 22 127.0.0.1" in looked_up
    assert (calls, lookups) == (2, 2) and (walked_calls, walked_lookups) == (5, 0)


def test_a_304_goes_on_from_the_kept_lookup(root: ServerRoot) -> None:
    first, _ = serve_once_plain(root, requests(GET))
    etag = re.search(rb"ETag: ([^\r]*)", first)[1].decode()
    line = f"GET /page.html HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: {etag}\r\n\r\n"
    answer, calls, lookups = serve(root, requests(*[line] * 3), True, "")
    assert answer.count(b"HTTP/1.1 304 Not Modified") == 3
    assert (calls, lookups) == (1, 0)  # no replay of a 304: its lookup


def serve_once_plain(root: ServerRoot, data: bytes) -> tuple[bytes, int]:
    answer, calls, _ = serve(root, data, True, "")
    return answer, calls


def exchange_steps(steps: list[tuple[object, bytes]]) -> object:
    """A client of one connection: for each step, run its action (a change to the files), send
    its request and read its response (one with a Content-Length)."""

    def client(port: int) -> bytes:
        answers = []
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            for action, data in steps:
                if callable(action):
                    action()
                sock.sendall(data)
                answer = b""
                while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
                    answer += chunk
                head, _, body = answer.partition(b"\r\n\r\n")
                length = re.search(rb"Content-Length: (\d+)", head)
                while length and len(body) < int(length[1]) and (chunk := sock.recv(65536)):
                    body += chunk
                answers.append(head + b"\r\n\r\n" + body)
        return b"\0".join(answers)

    return client


def test_the_lookup_ends_when_the_walk_changes(root: ServerRoot) -> None:
    counting = Counting()
    hooks = {Phase.TRANSLATE_NAME: replayable(counting), Phase.HANDLER: echo}
    line = b"GET /page.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
    page = root.htdocs / "page.html"

    def rewrite() -> None:
        page.write_bytes(b"longer than it was before\n")  # the handler sees the fresh stat

    def directory() -> None:
        page.unlink()
        page.mkdir()  # a directory where the file was: the lookup cannot go on

    steps = [(None, line), (None, line), (rewrite, line), (directory, line)]
    with engine_generation(root, hooks) as (generation, _):
        answer, _ = serve_once(generation, exchange_steps(steps))
    first, second, rewritten, _ = answer.split(b"\0")
    assert b" 22 127.0.0.1" in first and b" 22 127.0.0.1" in second
    assert b" 26 127.0.0.1" in rewritten
    assert counting.calls == 2  # the first request, then the directory
