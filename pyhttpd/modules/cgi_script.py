"""One running CGI script: its process, its pipes, its time limits and its end (mod_cgi's child).

`Script.start` runs the program with an argv list and no shell between (subprocess.Popen: safe
from any thread, never a bare fork), in the script's directory, with only the CGI environment and
close_fds, in a session of its own so that the whole process group can be stopped. The request
body is written to stdin, stdout is read in steps bounded by the timeout (Apache's
CGIScriptTimeout or Timeout: AH01220 when it runs out), and every stderr line goes to the error
log as AH01215 from a thread of its own. `close` is Apache's APR_KILL_AFTER_TIMEOUT cleanup: a
script still running gets SIGTERM, three seconds, then SIGKILL. Runs in the thread serving the
request (plus the stderr thread); used only by mod_cgi.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
from collections.abc import Iterator

from pyhttpd.cpu_binding import unbound
from pyhttpd.errors import HttpError
from pyhttpd.http.request import Request, StreamAborted
from pyhttpd.http.script_headers import MAX_LINE, ScriptTimeout

STEP = 65536
KILL_GRACE = 3.0  # APR_KILL_AFTER_TIMEOUT: SIGTERM, then this long, then SIGKILL


class Script:
    """A started CGI process and the request it answers."""

    def __init__(self, request: Request, process: subprocess.Popen[bytes], timeout: float):
        self.request = request
        self.process = process
        self.timeout = timeout
        self.filename = request.filename or ""
        self.buffer = bytearray()
        self.closed = False
        assert process.stdout is not None and process.stderr is not None
        self.stdout = process.stdout.fileno()
        self.stderr_thread = threading.Thread(target=self._log_stderr, daemon=True)
        self.stderr_thread.start()

    @classmethod
    def start(
        cls, request: Request, argv: list[str], env: dict[str, str], timeout: float
    ) -> Script:
        """Popen the script; an exec failure is logged as Apache's child logs it (AH01215)."""
        filename = request.filename or ""
        try:
            with unbound():  # a threaded child's CPU binding is not the script's
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    cwd=os.path.dirname(filename) or "/",
                    env=env,
                    close_fds=True,
                    start_new_session=True,
                    bufsize=0,
                )
        except OSError as error:
            reason = f"({error.errno}){error.strerror}: exec of '{filename}' failed"
            request.log_error("error", "cgi", f"stderr from {filename}: {reason}", "AH01215")
            script = os.path.basename(filename)
            request.log_error("error", "cgi", f"End of script output before headers: {script}")
            raise HttpError(500, close=False) from None
        return cls(request, process, timeout)

    # --- stdin --------------------------------------------------------------------------------

    def feed_body(self) -> None:
        """Copy the request body to stdin and close it (HttpError from the body propagates)."""
        stdin = self.process.stdin
        assert stdin is not None
        fd = stdin.fileno()
        os.set_blocking(fd, False)
        body = self.request.body_input
        writing = True
        try:
            while chunk := body.read1(STEP):
                if writing and not self._write_all(fd, chunk):
                    writing = False  # the script stopped reading: the engine discards the rest
                    self.request.log_error(
                        "error",
                        "cgi",
                        f"Error writing request body to script {self.filename}",
                        "AH02651",
                    )
                    break
        except HttpError:
            self.request.log_error("error", "cgi", "Error reading request entity data", "AH01225")
            raise
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _write_all(self, fd: int, data: bytes) -> bool:
        view = memoryview(data)
        while view:
            _, writable, _ = select.select([], [fd], [], self.timeout)
            if not writable:
                return False
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue
            except OSError:  # BrokenPipeError: the script exited without reading
                return False
        return True

    # --- stdout -------------------------------------------------------------------------------

    def _read(self) -> bytes:
        """The next bytes of stdout (b"" at its end) within the timeout, or ScriptTimeout."""
        ready, _, _ = select.select([self.stdout], [], [], self.timeout)
        if not ready:
            self.request.log_error(
                "warn",
                "cgi",
                f"Timeout waiting for output from CGI script {self.filename}",
                "AH01220",
            )
            raise ScriptTimeout(self.filename)
        return os.read(self.stdout, STEP)

    def lines(self) -> Iterator[bytes]:
        """Header lines, each with its LF; ends at stdout's end (a partial last line is lost)."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0 or len(self.buffer) >= MAX_LINE:
                cut = end + 1 if end >= 0 else MAX_LINE
                line = bytes(self.buffer[:cut])
                del self.buffer[:cut]
                yield line
                continue
            data = self._read()
            if not data:
                return
            self.buffer += data

    def read_at_hand(self, limit: int = STEP) -> bool:
        """What stdout holds without waiting (up to `limit`); True when that is all of it.

        Apache's content-length filter does the same before the first write: a short script
        that is already done gets a Content-Length instead of a chunked body.
        """
        while len(self.buffer) < limit:
            ready, _, _ = select.select([self.stdout], [], [], 0)
            if not ready:
                return False
            data = os.read(self.stdout, STEP)
            if not data:
                return True
            self.buffer += data
        return False

    def chunks(self) -> Iterator[bytes]:
        """The body: what followed the headers, then stdout as it comes."""
        if self.buffer:
            yield bytes(self.buffer)
            self.buffer.clear()
        while True:
            try:
                data = self._read()
            except ScriptTimeout:  # AH01220 is logged: the client gets a short body
                raise StreamAborted(f"CGI script {self.filename} timed out") from None
            if not data:
                return
            yield data

    def discard_output(self) -> None:
        """Read stdout to its end (a redirect's body is dropped), within the timeout."""
        self.buffer.clear()
        with contextlib.suppress(ScriptTimeout):
            while self._read():
                pass

    # --- stderr and the end -------------------------------------------------------------------

    def _log_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        with contextlib.suppress(OSError, ValueError), stderr:
            for raw in stderr:
                line = raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", "backslashreplace")
                self.request.log_error(
                    "error", "cgi", f"stderr from {self.filename}: {line}", "AH01215"
                )

    def close(self) -> None:
        """Stop the script if it still runs (SIGTERM, KILL_GRACE, SIGKILL) and reap it."""
        if self.closed:
            return
        self.closed = True
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait()
        self.stderr_thread.join(timeout=KILL_GRACE)

    def _signal(self, signum: int) -> None:
        """The script's process group: what it started goes with it (its own session)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)
