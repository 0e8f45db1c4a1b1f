"""auth_basic_module (mod_auth_basic.c): HTTP Basic authentication (RFC 7617).

Directive table on top; hooks at the bottom. In the check_user_id phase, which mod_authz_core
runs when a Require needs a user, a request under `AuthType Basic` must carry
`Authorization: Basic base64(user:password)`; the providers AuthBasicProvider names (default
`file`) check the password in turn until one knows the user. AuthBasicProvider finds its
providers among the loaded modules' when the configuration is read: an unknown name is a
configuration error, as in Apache. A failure answers 401 with
`WWW-Authenticate: Basic realm="AuthName"` and Apache's log lines (AH01614 wrong scheme, AH01617
password mismatch, AH01618 user not found; a missing header logs nothing). The user name is
recorded before the password is checked, as Apache's r->user, so %u shows it on a 401 too.
Base64 is decoded as APR does: leniently, up to the first character outside the alphabet.
Directive handlers run while a configuration is processed; hooks in the thread serving a request.
"""

from __future__ import annotations

import base64
import re

from pyhttpd.config.directives import AUTH_CONF, ArgShape, Command, DirectiveSpec, take_flag
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError
from pyhttpd.http.authn import (
    AUTH_TYPE_NOTE,
    AUTHN_GROUP,
    DEFAULT_PROVIDER,
    USER_NOTE,
    AuthnProvider,
    AuthnStatus,
    auth_name,
    auth_type,
    find_provider,
    register_failure_note,
)
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Phase
from pyhttpd.http.request import Request

MODULE_NAME = "auth_basic_module"
_BASE64_PREFIX = re.compile(rb"[A-Za-z0-9+/]*")


def providers(cmd: Command, *names: str) -> tuple[AuthnProvider, ...]:
    """add_authn_provider: each name must be a loaded module's authn provider (case-sensitive);
    the providers themselves are kept, as Apache caches them in the per-dir list."""
    if not names:
        raise DirectiveError(
            "AuthBasicProvider requires at least one argument, specify the auth providers for a "
            "directory or location"
        )
    found: list[AuthnProvider] = []
    for name in names:
        provider: AuthnProvider | None = cmd.provider(AUTHN_GROUP, name)
        if provider is None:
            raise DirectiveError(f"Unknown Authn provider: {name}")
        found.append(provider)
    return tuple(found)


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "AuthBasicProvider",
        ArgShape.TAKE_ARGV,
        AUTH_CONF,
        providers,
        "specify the auth providers for a directory or location",
        override="AuthConfig",
    ),
    DirectiveSpec(
        "AuthBasicAuthoritative",
        ArgShape.FLAG,
        AUTH_CONF,
        take_flag,
        "Set to 'Off' to allow access control to be passed along to lower modules if the "
        "UserID is not known to this module",
        override="AuthConfig",
        default=True,
    ),
)


def apr_base64_decode(text: str) -> bytes:
    """apr_base64_decode: decode up to the first non-alphabet character; a lone trailing
    character is ignored; the result ends at its first NUL (it is used as a C string)."""
    data = text.encode("latin-1", "replace")
    prefix = _BASE64_PREFIX.match(data)
    usable = prefix.group(0) if prefix else b""
    if len(usable) % 4 == 1:
        usable = usable[:-1]
    decoded = base64.b64decode(usable + b"=" * (-len(usable) % 4))
    return decoded.split(b"\0", 1)[0]


def note_basic_auth_failure(request: Request) -> None:
    request.headers_out.set("WWW-Authenticate", f'Basic realm="{auth_name(request) or ""}"')


def _credentials(request: Request) -> tuple[str, str] | None:
    """get_basic_auth: (user, password) from the Authorization header, or None (401 noted)."""
    line = request.head.headers.get("Authorization")
    if line is None:
        note_basic_auth_failure(request)
        return None
    scheme, _, rest = line.partition(" ")
    if scheme.lower() != "basic":
        request.log_error(
            "error",
            "auth_basic",
            f"client used wrong authentication scheme: {request.uri}",
            "AH01614",
        )
        note_basic_auth_failure(request)
        return None
    decoded = apr_base64_decode(rest.lstrip(" \t")).decode("latin-1")
    user, _, password = decoded.partition(":")
    request.notes[USER_NOTE] = user  # set before the check, as Apache's r->user
    return user, password


def _check(request: Request, user: str, password: str) -> AuthnStatus:
    """Ask each configured provider in turn until one knows the user; without
    AuthBasicProvider, the default `file` provider when its module is loaded (else AH01616)."""
    configured: tuple[AuthnProvider, ...] = request.per_dir.get("AuthBasicProvider") or ()
    if not configured:
        default = find_provider(request.config, DEFAULT_PROVIDER)
        if default is None:
            request.log_error("error", "auth_basic", "No Authn provider configured", "AH01616")
            return AuthnStatus.GENERAL_ERROR
        configured = (default,)
    result = AuthnStatus.USER_NOT_FOUND
    for provider in configured:
        result = provider.check_password(request, user, password)
        if result is not AuthnStatus.USER_NOT_FOUND:
            break
    return result


def authenticate_basic_user(request: Request) -> int:
    kind = auth_type(request)
    if kind is None or kind.lower() != "basic":
        return DECLINED
    if not auth_name(request):
        request.log_error("error", "auth_basic", f"need AuthName: {request.uri}", "AH01615")
        return 500
    request.notes[AUTH_TYPE_NOTE] = kind
    credentials = _credentials(request)
    if credentials is None:
        return 401
    user, password = credentials
    result = _check(request, user, password)
    if result is AuthnStatus.GRANTED:
        return OK
    if not request.per_dir.get("AuthBasicAuthoritative", True) and (
        result is not AuthnStatus.DENIED
    ):
        return DECLINED
    if result is AuthnStatus.DENIED:
        request.log_error(
            "error",
            "auth_basic",
            f'user {user}: authentication failure for "{request.uri}": Password Mismatch',
            "AH01617",
        )
    elif result is AuthnStatus.USER_NOT_FOUND:
        request.log_error("error", "auth_basic", f"user {user} not found: {request.uri}", "AH01618")
    else:
        return 500
    note_basic_auth_failure(request)
    return 401


def register(hooks: Hooks, context: HookContext) -> None:
    register_failure_note("Basic", MODULE_NAME, note_basic_auth_failure)
    hooks.add(Phase.CHECK_USER_ID, authenticate_basic_user)


MODULE = Module(
    name=MODULE_NAME,
    source="mod_auth_basic.c",
    directives=DIRECTIVES,
    description="HTTP Basic authentication against the configured authn providers",
    register_hooks=register,
)
