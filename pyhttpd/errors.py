"""Error types that carry their Apache wording from the raise site.

Leaf module: imports nothing of pyhttpd. Every error a user sees at start-up is one of these, and its
`str()` is the exact text Apache prints, so scripts that grep Apache's messages keep working.
"""

from __future__ import annotations

from pyhttpd.version import PROGRAM


class PyhttpdError(Exception):
    """Base of every error pyhttpd raises on purpose."""


class DirectiveError(PyhttpdError):
    """Raised by a directive handler: the reason only; the processor adds file and line."""


class ConfigError(PyhttpdError):
    """A configuration error tied to a file and line, in one of Apache's two shapes.

    Errors found while the files are *read* (nesting, Include, LoadModule, Define, conditional
    sections) print on one line, `pyhttpd: Syntax error on line N of FILE: reason`. Errors from a
    directive handler while the tree is *processed* print Apache's AH00526 form on two lines.
    """

    def __init__(
        self, reason: str, file: str | None, line: int | None, *, read_phase: bool
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.file = file
        self.line = line
        self.read_phase = read_phase

    def __str__(self) -> str:
        if self.file is None or self.line is None:
            return f"{PROGRAM}: {self.reason}"
        if self.read_phase:
            return f"{PROGRAM}: Syntax error on line {self.line} of {self.file}: {self.reason}"
        return f"AH00526: Syntax error on line {self.line} of {self.file}:\n{self.reason}"


class StartupError(PyhttpdError):
    """A fatal start-up condition that is not tied to one line (AH00534 and friends)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ThreadNeeded(PyhttpdError):
    """The event listener, serving a request itself, met work that may wait (a handler that is
    not a small file, a DNS lookup, an ErrorDocument's internal redirect): a worker thread must
    go on. `request` is the request to resume at its handler (with `error`: at its error
    response), or None to run it again from its head (nothing was sent or logged yet)."""

    def __init__(self, request: object = None, error: HttpError | None = None) -> None:
        super().__init__("a worker thread must go on with this request")
        self.request = request
        self.error = error


class HttpError(PyhttpdError):
    """A request that gets an error status: the status, the reason for the error log, an AH tag.

    Raised by the parser and by request processing; the connection engine answers with the status
    (and Apache's error page) and, for protocol errors, closes the connection.
    """

    def __init__(self, status: int, reason: str = "", tag: str = "", *, close: bool = True) -> None:
        super().__init__(reason or str(status))
        self.status = status
        self.reason = reason
        self.tag = tag
        self.close = close
