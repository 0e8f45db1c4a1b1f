"""hashlib and hmac, loaded on first use rather than at import.

hashlib loads OpenSSL's libcrypto, whose initialisation leaves ~3 MiB of private pages in the
process that imports it: in the master, that is 3 MiB more of every generation's PSS (the bench's
test 5) for digests that only ap_expr's md5()/sha1(), mod_wsgi's module names and mod_authn_file's
password hashes use, per request or per script, if at all. Callers import this instead.
Thread-safe (the import system's lock); used from any thread.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def hashlib() -> ModuleType:
    return importlib.import_module("hashlib")


def hex_digest(name: str, data: bytes) -> str:
    """hashlib.new(name, data).hexdigest()."""
    return hashlib().new(name, data).hexdigest()


def compare_digest(a: bytes, b: bytes) -> bool:
    """hmac.compare_digest: constant-time equality."""
    return bool(importlib.import_module("hmac").compare_digest(a, b))
