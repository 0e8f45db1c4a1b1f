"""Password hashes as htpasswd writes them: APR's apr_password_validate, for mod_authn_file.

- `$2y$` / `$2a$` / `$2b$`: bcrypt (htpasswd -B), through the `bcrypt` package.
- `$apr1$`: APR's MD5 crypt (htpasswd -m, the default), with hashlib.
- `{SHA}`: base64 of the SHA-1 digest (htpasswd -s), with hashlib.
- anything else: the system's crypt(3) (htpasswd -d writes DES crypt; glibc's `$1$`, `$5$`,
  `$6$` work too), called through ctypes in libcrypt.so.1 with crypt_r, which is thread-safe.
  Python's `crypt` module is deprecated in 3.11 and gone in 3.13.
Plain-text passwords (htpasswd -p) are refused, as APR refuses them on Unix: crypt(3) of the
password with the "hash" as salt does not give the hash back.
Comparisons are constant-time (hmac.compare_digest; hashlib and hmac load on first use, see
digests.py). Pure functions; thread-safe; runs in the
thread serving a request.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import functools

from pyhttpd.digests import compare_digest, hashlib

_ITOA64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
APR1 = b"$apr1$"
SHA1 = b"{SHA}"
_BCRYPT = (b"$2y$", b"$2a$", b"$2b$")
_CRYPT_DATA_SIZE = 32768  # sizeof(struct crypt_data) in libxcrypt (glibc's is smaller)


def validate(password: bytes, stored: bytes) -> bool:
    """apr_password_validate: does `password` match the hash from the password file?"""
    if stored.startswith(APR1):
        return compare_digest(apr1_md5(password, stored), stored)
    if stored.startswith(SHA1):
        digest = base64.b64encode(hashlib().sha1(password).digest())
        return compare_digest(SHA1 + digest, stored)
    if stored.startswith(_BCRYPT):
        import bcrypt  # imported when first needed: a server without bcrypt hashes needs no bcrypt

        try:
            return bcrypt.checkpw(password, stored)
        except ValueError:  # a malformed hash
            return False
    computed = system_crypt(password, stored)
    return computed is not None and compare_digest(computed, stored)


def _to64(value: int, count: int) -> bytes:
    out = bytearray()
    for _ in range(count):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return bytes(out)


def apr1_md5(password: bytes, setting: bytes) -> bytes:
    """apr_md5_encode: `$apr1$salt$hash`, the salt taken from `setting` (up to 8 characters)."""
    salt = setting[len(APR1) :].split(b"$", 1)[0][:8]
    context = hashlib().md5(password + APR1 + salt)
    alternate = hashlib().md5(password + salt + password).digest()
    for remaining in range(len(password), 0, -16):
        context.update(alternate[: min(16, remaining)])
    length = len(password)
    while length:
        context.update(b"\0" if length & 1 else password[:1])
        length >>= 1
    final = context.digest()
    for round_number in range(1000):
        step = hashlib().md5()
        step.update(password if round_number & 1 else final)
        if round_number % 3:
            step.update(salt)
        if round_number % 7:
            step.update(password)
        step.update(final if round_number & 1 else password)
        final = step.digest()
    encoded = b"".join(
        _to64((final[a] << 16) | (final[b] << 8) | final[c], 4)
        for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))
    )
    encoded += _to64(final[11], 2)
    return APR1 + salt + b"$" + encoded


@functools.cache
def _crypt_r() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("crypt") or "libcrypt.so.1"
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return None
    function = library.crypt_r
    function.restype = ctypes.c_char_p
    function.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)
    return function


def system_crypt(password: bytes, setting: bytes) -> bytes | None:
    """crypt_r(3) from libcrypt; None when the library is missing or refuses the setting."""
    function = _crypt_r()
    if function is None or b"\0" in password or b"\0" in setting:
        return None
    data = ctypes.create_string_buffer(_CRYPT_DATA_SIZE)
    result: bytes | None = function(password, setting, data)
    if not result or result.startswith(b"*"):
        return None  # libxcrypt's failure tokens are "*0" and "*1"
    return result
