"""Files larger than the socket buffers, by sendfile (EnableSendfile On) and by read-and-write.

Under the real master with each MPM, one keep-alive connection gets the whole file (byte count
and contents), a range inside it, HEAD, and then the next request: the head sent ahead of the
file with MSG_MORE must neither be lost nor leak into the next answer. Under `pyhttpd -X`, a
client with a tiny receive buffer makes every write wait for it and still gets every byte.
"""

from __future__ import annotations

import http.client
import os
import socket
from pathlib import Path

import pytest

from tests.harness.master import master
from tests.harness.server import (
    ServerRoot,
    read_to_close,
    running_server,
    server_side_tcp,
    wait_until,
)

SIZE = 5 * 1024 * 1024 + 123  # more than the socket buffers hold: the writes must wait
DIRECTORIES = ("zerocopy", "copy")  # EnableSendfile On, Off


@pytest.fixture(scope="module")
def data() -> bytes:
    return os.urandom(SIZE)


def make_root(path: Path, mpm: str, data: bytes) -> ServerRoot:
    root = ServerRoot(path, mpm=mpm)
    for directory in DIRECTORIES:
        (root.htdocs / directory).mkdir()
        (root.htdocs / directory / "big.bin").write_bytes(data)
    root.write_config("LogLevel info\n<Directory htdocs/zerocopy>\nEnableSendfile On\n</Directory>")
    return root


def read_answer(
    connection: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str]
) -> tuple[http.client.HTTPResponse, bytes]:
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    return response, response.read()


@pytest.mark.parametrize("mpm", ["event", "worker", "prefork"])
def test_large_files_whole_and_in_ranges_under_every_mpm(
    tmp_path: Path, data: bytes, mpm: str
) -> None:
    root = make_root(tmp_path, mpm, data)
    with master(root):
        connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
        for directory in DIRECTORIES:
            path = f"/{directory}/big.bin"
            response, body = read_answer(connection, "GET", path, {})
            assert response.status == 200 and response.getheader("Content-Length") == str(SIZE)
            assert len(body) == SIZE and body == data
            response, body = read_answer(connection, "GET", path, {"Range": "bytes=70000-4000000"})
            assert response.status == 206 and body == data[70000:4000001]
            assert response.getheader("Content-Range") == f"bytes 70000-4000000/{SIZE}"
            response, body = read_answer(connection, "HEAD", path, {})
            assert response.status == 200 and body == b""
            assert response.getheader("Content-Length") == str(SIZE)
            response, body = read_answer(connection, "GET", path, {"Range": "bytes=-70000"})
            assert response.status == 206 and body == data[-70000:]
        connection.close()


def unsent(server_port: int, client_port: int) -> int:
    """Bytes waiting on the server's side of the connection: its writes are waiting."""
    row = server_side_tcp(server_port, client_port)
    return row.send_queue if row else 0


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc/net/tcp")
def test_a_client_slower_than_the_socket_buffers_gets_every_byte(
    tmp_path: Path, data: bytes
) -> None:
    root = make_root(tmp_path, "event", data)
    with running_server(root):
        for directory in DIRECTORIES:
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.settimeout(30)
                sock.connect(("127.0.0.1", root.port))
                request = (
                    f"GET /{directory}/big.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                )
                sock.sendall(request.encode())
                assert wait_until(lambda: unsent(root.port, sock.getsockname()[1]) > 0)
                answer = read_to_close(sock)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: %d" % SIZE in head
            assert len(body) == SIZE and body == data
