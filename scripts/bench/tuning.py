"""The settings every server shares, and the configuration text each server is started with.

Pure text: nothing here starts a process. Apache and pyhttpd of the same MPM get the same MPM block
(StartServers, ThreadsPerChild, MaxRequestWorkers, KeepAliveTimeout); nginx and gunicorn get the
nearest equivalents. Runs in the bench process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

APACHE_MODULES = Path("/usr/lib/apache2/modules")
APACHE_WSGI = APACHE_MODULES / "mod_wsgi.so"  # Debian's libapache2-mod-wsgi-py3
WSGI_APP = """def application(environ, start_response):
    body = b"Hello, world!\\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


@dataclass(frozen=True)
class Tuning:
    """One MPM shape, shared by Apache and pyhttpd (and mirrored for nginx and gunicorn)."""

    start_servers: int = 2
    threads_per_child: int = 25
    max_request_workers: int = 50
    keepalive_timeout: int = 5
    server_limit: int = 16
    async_factor: float = 2.0

    def mpm_block(self, mpm: str) -> str:
        if mpm == "prefork":
            return "\n".join(
                [
                    f"StartServers {self.max_request_workers // 2}",
                    f"MinSpareServers {self.max_request_workers // 2}",
                    f"MaxSpareServers {self.max_request_workers}",
                    f"ServerLimit {self.max_request_workers}",
                    f"MaxRequestWorkers {self.max_request_workers}",
                ]
            )
        lines = [
            f"StartServers {self.start_servers}",
            f"ServerLimit {self.server_limit}",
            f"ThreadLimit {max(64, self.threads_per_child)}",
            f"ThreadsPerChild {self.threads_per_child}",
            f"MinSpareThreads {min(self.threads_per_child, self.max_request_workers)}",
            f"MaxSpareThreads {self.max_request_workers}",
            f"MaxRequestWorkers {self.max_request_workers}",
        ]
        if mpm == "event":
            lines.append(f"AsyncRequestWorkerFactor {self.async_factor:g}")
        return "\n".join(lines)

    def keepalive_block(self) -> str:
        return (
            "KeepAlive On\nMaxKeepAliveRequests 0\n"
            f"KeepAliveTimeout {self.keepalive_timeout}\nTimeout 30"
        )


# The default shape of tests 1-5, and the one-child shapes of tests 6 and 7.
DEFAULT = Tuning()


def one_child(threads: int, keepalive_timeout: int, async_factor: float = 2.0) -> Tuning:
    return Tuning(1, threads, threads, keepalive_timeout, 1, async_factor)


def pyhttpd_conf(root: Path, port: int, mpm: str, tuning: Tuning, wsgi: bool) -> str:
    lines = [
        f"LoadModule mpm_{mpm}_module modules/mod_mpm_{mpm}.so",
        "ServerName localhost",
        f"Listen 127.0.0.1:{port}",
        f"DocumentRoot {root / 'htdocs'}",
        "PidFile logs/httpd.pid",
        "ErrorLog logs/error_log",
        "LogLevel error",
        tuning.keepalive_block(),
        tuning.mpm_block(mpm),
    ]
    if wsgi:
        lines[1:1] = ["LoadModule wsgi_module modules/mod_wsgi.so"]
        lines.append(f"WSGIScriptAlias /hello {root / 'hello.wsgi'}")
    return "\n".join(lines) + "\n"


def apache_conf(root: Path, port: int, mpm: str, tuning: Tuning, wsgi: bool) -> str:
    """Debian's apache2, with mod_wsgi (embedded mode) for the WSGI row when it is installed."""
    lines = [
        f"ServerRoot {root}",
        f"LoadModule mpm_{mpm}_module {APACHE_MODULES}/mod_mpm_{mpm}.so",
        f"LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so",
        "User www-data",
        "Group www-data",
        "ServerName localhost",
        f"Listen 127.0.0.1:{port}",
        f"PidFile {root}/logs/httpd.pid",
        f"ErrorLog {root}/logs/error_log",
        f"ScoreBoardFile {root}/logs/apache_runtime_status",
        f"Mutex file:{root}/logs default",
        "LogLevel error",
        f"DocumentRoot {root}/htdocs",
        f"<Directory {root}/htdocs>\n    Require all granted\n</Directory>",
        tuning.keepalive_block(),
        tuning.mpm_block(mpm),
    ]
    if wsgi:
        lines += [
            f"LoadModule wsgi_module {APACHE_WSGI}",
            f"WSGIScriptAlias /hello {root}/hello.wsgi",
            "WSGIDestroyInterpreter Off",  # else each child takes ~10 s to stop
        ]
    return "\n".join(lines) + "\n"


def nginx_conf(root: Path, port: int, tuning: Tuning) -> str:
    workers = max(1, tuning.max_request_workers // tuning.threads_per_child)
    return f"""worker_processes {workers};
pid {root}/logs/nginx.pid;
error_log {root}/logs/error_log error;
worker_rlimit_nofile 20000;
events {{ worker_connections 10000; }}
http {{
    access_log off;
    keepalive_timeout {tuning.keepalive_timeout};
    keepalive_requests 1000000;
    sendfile on;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root}/htdocs;
    }}
}}
"""


def gunicorn_argv(venv_bin: Path, root: Path, port: int, worker: str, tuning: Tuning) -> list[str]:
    """gunicorn with one worker process per Apache child, and Apache's threads for gthread."""
    workers = max(1, tuning.max_request_workers // tuning.threads_per_child)
    argv = [str(venv_bin / "gunicorn"), "--chdir", str(root), "-b", f"127.0.0.1:{port}"]
    argv += ["-w", str(workers), "-k", worker, "--keep-alive", str(tuning.keepalive_timeout)]
    if worker == "gthread":
        argv += ["--threads", str(tuning.threads_per_child)]
    return [*argv, "--log-level", "warning", "hello:application"]
