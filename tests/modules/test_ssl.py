"""mod_ssl: HTTPS beside plain HTTP, SNI name-based vhosts, SSLProtocol, under `pyhttpd -X` and
the real master with every MPM. Certificates are made by `openssl req` for
each run; clients are Python's ssl module, http.client and curl.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyhttpd.errors import ConfigError
from pyhttpd.modules.mod_ssl import enabled_versions
from tests.harness.master import get, master
from tests.harness.server import ServerRoot, free_port, raw_exchange, running_server, wait_until

NAMES = ("a.test", "b.test", "old.test")
LARGE = 3 * 1024 * 1024 + 7  # beyond the socket buffers, so the TLS writes wait for the client


def make_certificates(directory: Path) -> None:
    for name in NAMES:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "2", "-keyout", str(directory / f"{name}.key"), "-out", str(directory / f"{name}.crt"),
             "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip


def tls_vhost(port: int, name: str, extra: str = "") -> str:
    return f"""<VirtualHost 127.0.0.1:{port}>
  ServerName {name}
  DocumentRoot htdocs/{name}
  SSLEngine on
  SSLCertificateFile {name}.crt
  SSLCertificateKeyFile {name}.key
  {extra}
</VirtualHost>"""


def config(root: ServerRoot, tls: int, tls13: int) -> str:
    return "\n".join(
        [
            "DirectoryIndex index.html",
            "LogLevel info",
            "EnableSendfile On",
            f"Listen 127.0.0.1:{tls}",
            f"Listen 127.0.0.1:{tls13}",
            "Header set X-HTTPS %{HTTPS}e",
            tls_vhost(tls, "a.test"),
            tls_vhost(tls, "b.test", "SSLHonorCipherOrder on"),
            tls_vhost(tls13, "old.test", "SSLProtocol -all +TLSv1.3"),
        ]
    )


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    make_certificates(directory)
    return directory


def prepare(root: ServerRoot, certs: Path, mpm_modules: tuple[str, ...] = ()) -> tuple[int, int]:
    for name in NAMES:
        for suffix in ("crt", "key"):
            (root.path / f"{name}.{suffix}").write_bytes((certs / f"{name}.{suffix}").read_bytes())
        (root.htdocs / name / "dir").mkdir(parents=True)
        (root.htdocs / name / "index.html").write_text(f"{name}\n")
    (root.htdocs / "index.html").write_text("plain\n")
    (root.htdocs / "a.test" / "big.bin").write_bytes(os.urandom(LARGE))
    (root.htdocs / "big.bin").write_bytes(os.urandom(LARGE))
    tls, tls13 = free_port(), free_port()
    modules = ("ssl", "dir", "headers", *mpm_modules)
    root.write_config(config(root, tls, tls13), modules=modules)
    return tls, tls13


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, certs: Path
) -> Iterator[tuple[ServerRoot, int, int]]:
    root = ServerRoot(tmp_path_factory.mktemp("ssl"), mpm="worker")
    tls, tls13 = prepare(root, certs)
    with running_server(root):
        yield root, tls, tls13


def client_context(certs: Path, name: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certs / f"{name}.crt"))


def https_connection(port: int, name: str, certs: Path) -> http.client.HTTPSConnection:
    """A keep-alive HTTPS connection to NAME (SNI and certificate check) on 127.0.0.1:PORT."""
    connection = http.client.HTTPSConnection(
        name, port, context=client_context(certs, name), timeout=10
    )
    connection._create_connection = (  # type: ignore[attr-defined]
        lambda address, *args, **kw: socket.create_connection(("127.0.0.1", port), *args, **kw)
    )
    return connection


def https_get(port: int, name: str, certs: Path, path: str = "/") -> http.client.HTTPResponse:
    connection = https_connection(port, name, certs)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_plain_and_https_side_by_side(server: tuple[ServerRoot, int, int], certs: Path) -> None:
    root, tls, _ = server
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    try:
        connection.request("GET", "/")
        plain = connection.getresponse()
        answer = (plain.status, plain.read(), plain.getheader("X-HTTPS"))
    finally:
        connection.close()
    assert answer == (200, b"plain\n", "(null)")  # mod_headers' rendering of an unset variable
    secure = https_get(tls, "a.test", certs)
    assert (secure.status, secure.getheader("X-HTTPS")) == (200, "on")


def test_a_large_file_with_sendfile_on_is_exact_over_https_and_plain(
    server: tuple[ServerRoot, int, int], certs: Path
) -> None:
    """No sendfile on a TLS socket: the file is read and written through it, the head first;
    beside it the plain listener sends the same kind of file by sendfile."""
    root, tls, _ = server
    secure = https_connection(tls, "a.test", certs)
    plain = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    for connection, path in ((secure, root.htdocs / "a.test"), (plain, root.htdocs)):
        try:
            for headers in ({}, {"Range": "bytes=100-2000000"}):
                connection.request("GET", "/big.bin", headers=headers)
                response = connection.getresponse()
                expected = (path / "big.bin").read_bytes()
                assert response.read() == (expected[100:2000001] if headers else expected)
            connection.request("GET", "/")  # the same connection, kept alive, after the file
            assert connection.getresponse().read() == (path / "index.html").read_bytes()
        finally:
            connection.close()


def test_sni_picks_the_vhost_and_its_certificate(
    server: tuple[ServerRoot, int, int], certs: Path
) -> None:
    _, tls, _ = server
    for name in ("a.test", "b.test"):
        with socket.create_connection(("127.0.0.1", tls), timeout=10) as raw:
            with client_context(certs, name).wrap_socket(raw, server_hostname=name) as sock:
                subject = dict(pair[0] for pair in sock.getpeercert()["subject"])
                assert subject["commonName"] == name
                sock.sendall(
                    f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode()
                )
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
        assert answer.endswith(f"{name}\n".encode())


def test_redirects_on_https_use_the_https_scheme(
    server: tuple[ServerRoot, int, int], certs: Path
) -> None:
    _, tls, _ = server
    response = https_get(tls, "a.test", certs, "/dir")
    assert response.status == 301
    assert response.getheader("Location") == f"https://a.test:{tls}/dir/"


def test_curl_over_https_with_keep_alive(server: tuple[ServerRoot, int, int], certs: Path) -> None:
    _, tls, _ = server
    url = f"https://b.test:{tls}/"
    out = subprocess.run(
        ["curl", "-s", "--cacert", str(certs / "b.test.crt"), "--resolve",
         f"b.test:{tls}:127.0.0.1", url, url],
        capture_output=True, check=True, timeout=20,
    )  # fmt: skip
    assert out.stdout == b"b.test\nb.test\n"


def test_ssl_protocol_refuses_older_versions_and_bad_clients_cost_one_connection(
    server: tuple[ServerRoot, int, int], certs: Path
) -> None:
    _, tls, tls13 = server
    context = client_context(certs, "old.test")
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", tls13), timeout=10) as raw:
        with pytest.raises(OSError):  # an SSL alert, or a reset
            context.wrap_socket(raw, server_hostname="old.test")
    with socket.create_connection(("127.0.0.1", tls), timeout=10) as raw:
        raw.sendall(b"\x16\x03\x01\x00\x05hello")  # a broken ClientHello: closed
        try:
            assert raw.recv(65536)[:1] in (b"", b"\x15")  # closed, or a TLS alert
        except ConnectionResetError:
            pass
    assert https_get(tls13, "old.test", certs).status == 200  # TLS 1.3 clients still welcome
    assert https_get(tls, "a.test", certs).status == 200


def test_plain_http_to_the_https_port_gets_apache_400_page(
    server: tuple[ServerRoot, int, int],
) -> None:
    root, tls, _ = server
    answer = raw_exchange(tls, b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Content-Length: 402\r\n" in head and b"Connection: close" in head
    assert body.endswith(
        b"<p>Your browser sent a request that this server could not understand.<br />\n"
        b"Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n"
        b" Instead use the HTTPS scheme to access this URL, please.<br />\n</p>\n</body></html>\n"
    )
    log = root.path / "logs" / "error_log"
    assert wait_until(
        lambda: "AH01996: SSL handshake failed: HTTP spoken on HTTPS port" in log.read_text()
    )


@pytest.mark.parametrize("mpm", ["worker", "prefork", "event"])
def test_the_master_serves_https_under_every_mpm(tmp_path: Path, certs: Path, mpm: str) -> None:
    """Under event the handshake and first request run in a worker; between requests the TLS
    connection is parked in the listener and its next request read there without blocking."""
    root = ServerRoot(tmp_path, mpm=mpm)
    tls, _ = prepare(root, certs)
    with master(root):
        assert https_get(tls, "a.test", certs).status == 200
        assert https_get(tls, "b.test", certs).status == 200
        connection = https_connection(tls, "a.test", certs)
        bodies = []
        for _ in range(3):  # one TLS connection, kept alive across requests
            connection.request("GET", "/")
            response = connection.getresponse()
            bodies.append(response.read())
            assert response.getheader("Connection") == "Keep-Alive"
        connection.request("GET", "/big.bin")  # EnableSendfile On: read and written over TLS
        assert connection.getresponse().read() == (root.htdocs / "a.test" / "big.bin").read_bytes()
        connection.close()
        assert bodies == [b"a.test\n"] * 3
        assert get(root.port, "/index.html") == 200  # the plain listener beside it


def test_protocol_words() -> None:
    assert enabled_versions(("all", "-TLSv1", "-TLSv1.1")) == {"TLSv1.2", "TLSv1.3"}
    assert enabled_versions(("-all", "+TLSv1.3")) == {"TLSv1.3"}
    assert enabled_versions(("TLSv1.2",)) == {"TLSv1.2"}


def test_configuration_errors_speak_apache(tmp_path: Path) -> None:
    from pyhttpd.config import load
    from pyhttpd.modules.registry import default_registry

    for line, reason in (
        ("SSLCertificateFile missing.crt", f"SSLCertificateFile: file '{tmp_path}/missing.crt' "
         "does not exist or is empty"),
        ("SSLProtocol +TLSv1.9", "SSLProtocol: Illegal protocol 'TLSv1.9'"),
        ("SSLEngine maybe", "Argument must be On or Off"),
    ):  # fmt: skip
        path = tmp_path / "httpd.conf"
        path.write_text(f"LoadModule mpm_worker_module x\nLoadModule ssl_module x\n{line}\n")
        with pytest.raises(ConfigError) as raised:
            load(str(path), str(tmp_path), default_registry(), environment={})
        assert reason in str(raised.value)


def test_main_server_tls_sends_the_chain_file(tmp_path: Path) -> None:
    root = ServerRoot(tmp_path, mpm="worker")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
    steps = [
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=Test CA"],
        ["req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-out", "leaf.crt", "-copy_extensions", "copy"],
    ]  # fmt: skip
    for step in steps:
        subprocess.run(["openssl", *step], cwd=tmp_path, check=True, capture_output=True)
    (root.htdocs / "index.html").write_text("chained\n")
    root.write_config(
        "SSLEngine on\nSSLCertificateFile leaf.crt\nSSLCertificateKeyFile leaf.key\n"
        "SSLCertificateChainFile ca.crt\nDirectoryIndex index.html",
        modules=("ssl", "dir"),
    )
    with running_server(root):
        shown = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{root.port}", "-showcerts",
             "-servername", "localhost"],
            input=b"", capture_output=True, timeout=20,
        ).stdout  # fmt: skip
        assert shown.count(b"BEGIN CERTIFICATE") == 2  # the leaf and the chain file's CA
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        with socket.create_connection(("127.0.0.1", root.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
        assert answer.endswith(b"chained\n")
