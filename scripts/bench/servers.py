"""Start and stop one server under test: a foreground process, a temp dir, a free loopback port.

Every server is started by us as a non-daemon process (apache2 -D FOREGROUND, nginx 'daemon off;',
pyhttpd -D FOREGROUND, gunicorn, the ceiling) with its config, pid file and logs in its own temp
dir, and stopped by its pid (then any child it left, by pid). Never the system services. A server
that fails to start raises StartFailed with its error log, for the caller to report and skip.
Runs in the bench process.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from scripts.bench import tuning as tun
from scripts.bench.holder import fetch
from tests.harness.server import free_port, port_open

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
SMALL_BYTES, LARGE_BYTES = 612, 1 << 20
# Every server in the bench, in the order of the table. `ceiling` is the bare Python responder.
NAMES = (
    "apache-event",
    "apache-worker",
    "apache-prefork",
    "nginx",
    "pyhttpd-event",
    "pyhttpd-worker",
    "pyhttpd-prefork",
    "gunicorn-sync",
    "gunicorn-gthread",
    "python-ceiling",
)
REFERENCE = "apache-event"


class StartFailed(RuntimeError):
    """The server did not listen in time or exited at start-up."""


def raise_file_limit(wanted: int = 65536) -> int:
    """Raise RLIMIT_NOFILE (soft, and hard when we may) for us and every server we start."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(wanted, soft), max(wanted, hard)))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def wsgi_available() -> bool:
    """pyhttpd's WSGI row runs once `wsgi_module` is in its module registry."""
    from pyhttpd.modules.registry import SHARED_MODULES

    return "wsgi_module" in SHARED_MODULES


def wsgi_module(name: str) -> bool:
    """NAME serves WSGI through a module of its own (Apache's mod_wsgi, pyhttpd's wsgi_module).

    Such a server runs the WSGI test on a second instance with the module loaded, so that the
    memory and static figures of the first are those of a static configuration, like nginx's.
    """
    if name.startswith("apache-"):
        return tun.APACHE_WSGI.exists()
    return name.startswith("pyhttpd-") and wsgi_available()


@dataclass
class Server:
    """One running server: its name, the URLs of each content kind, and its process."""

    name: str
    root: Path
    process: subprocess.Popen[bytes]
    urls: dict[str, str] = field(default_factory=dict)

    def pids(self) -> list[int]:
        """The master and every descendant: the process tree whose memory we sum."""
        try:
            main = psutil.Process(self.process.pid)
            return [main.pid, *(child.pid for child in main.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server has used so far: the master's own and that of the
        children it reaped, plus each live child's. The difference over a load, divided by its
        requests, is the server's cost per request — steadier than req/s on a machine whose
        cores the load generator shares."""
        try:
            main = psutil.Process(self.process.pid)
            times = main.cpu_times()
            total = times.user + times.system + times.children_user + times.children_system
            children = main.children(recursive=True)
        except psutil.NoSuchProcess:
            return 0.0
        for child in children:
            with contextlib.suppress(psutil.Error):
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
        return total

    def error_log(self) -> str:
        texts = [p.read_text(errors="replace")[-2000:] for p in (self.root / "logs").glob("*log*")]
        return "\n".join(texts)

    def stop(self) -> None:
        leftovers = self.pids()[1:]
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        survivors = []
        for pid in leftovers:
            with contextlib.suppress(psutil.Error):
                survivors.append(psutil.Process(pid))
        _, alive = psutil.wait_procs(survivors, timeout=2)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def _site(root: Path) -> None:
    for sub in ("htdocs", "logs", "tmp", "modules"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "htdocs" / "small.html").write_bytes(b"s" * (SMALL_BYTES - 1) + b"\n")
    (root / "htdocs" / "large.bin").write_bytes(b"L" * LARGE_BYTES)
    (root / "hello.py").write_text(tun.WSGI_APP)
    (root / "hello.wsgi").write_text(tun.WSGI_APP)
    os.chmod(root, 0o755)


def _command(
    name: str, root: Path, port: int, tuning: tun.Tuning, wsgi: bool
) -> tuple[list[str], dict[str, str]]:
    family, _, kind = name.partition("-")
    urls = {"small": f"http://127.0.0.1:{port}/small.html"}
    urls["large"] = f"http://127.0.0.1:{port}/large.bin"
    if family == "apache":
        wsgi = wsgi and tun.APACHE_WSGI.exists()
        if wsgi:
            urls["wsgi"] = f"http://127.0.0.1:{port}/hello"
        (root / "httpd.conf").write_text(tun.apache_conf(root, port, kind, tuning, wsgi))
        return ["/usr/sbin/apache2", "-D", "FOREGROUND", "-f", str(root / "httpd.conf")], urls
    if family == "nginx":
        (root / "nginx.conf").write_text(tun.nginx_conf(root, port, tuning))
        conf = ["-c", str(root / "nginx.conf"), "-p", f"{root}/"]
        return ["/usr/sbin/nginx", "-g", "daemon off;", *conf], urls
    if family == "pyhttpd":
        wsgi = wsgi and wsgi_available()
        (root / "httpd.conf").write_text(tun.pyhttpd_conf(root, port, kind, tuning, wsgi))
        if wsgi:
            urls["wsgi"] = f"http://127.0.0.1:{port}/hello"
        argv = [str(VENV_BIN / "pyhttpd"), "-d", str(root), "-f", "httpd.conf", "-D", "FOREGROUND"]
        return argv, urls
    if family == "gunicorn":
        urls = {"wsgi": f"http://127.0.0.1:{port}/hello"}
        return tun.gunicorn_argv(VENV_BIN, root, port, kind, tuning), urls
    large = free_port()
    urls = {"small": f"http://127.0.0.1:{port}/", "large": f"http://127.0.0.1:{large}/"}
    urls["wsgi"] = urls["small"]
    script = str(Path(__file__).with_name("ceiling.py"))
    return [sys.executable, script, f"{port}:{SMALL_BYTES}", f"{large}:{LARGE_BYTES}"], urls


def start(
    name: str, tuning: tun.Tuning = tun.DEFAULT, wsgi: bool = False, timeout: float = 20.0
) -> Server:
    """Start NAME in a fresh temp dir and wait (polling, bounded) until it answers.

    WSGI: also load the server's WSGI module and serve /hello through it (see `wsgi_module`);
    gunicorn and the ceiling always answer /hello.
    """
    root = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    _site(root)
    port = free_port()
    argv, urls = _command(name, root, port, tuning, wsgi)
    log = (root / "logs" / "stderr_log").open("wb")
    # A session of its own: Apache prefork signals its whole process group when it stops.
    process = subprocess.Popen(
        argv, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_env(),
        start_new_session=True,
    )  # fmt: skip
    log.close()
    server = Server(name, root, process, urls)
    deadline = time.monotonic() + timeout
    ports = {int(url.split(":")[2].split("/")[0]) for url in urls.values()}
    while time.monotonic() < deadline and process.poll() is None:
        if all(port_open(p) for p in ports) and _answers(urls):
            return server
        time.sleep(0.05)
    text = server.error_log()
    server.stop()
    raise StartFailed(f"{name} did not start: {text.strip()[-500:] or 'no log'}")


def _answers(urls: dict[str, str]) -> bool:
    """The first URL answers 200: a server whose WSGI row fails still runs the static tests."""
    return fetch(next(iter(urls.values())), timeout=2.0) == 200


def _env() -> dict[str, str]:
    values = {key: value for key, value in os.environ.items() if key != "PYHTTPD_ROOT"}
    values["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), values.get("PYTHONPATH")]))
    return values
