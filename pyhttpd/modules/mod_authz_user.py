"""authz_user_module (mod_authz_user.c): the `user` and `valid-user` providers for Require.

No directives of its own: `Require user alice bob` and `Require valid-user` are stored by
mod_authz_core, and these providers join the registry in pyhttpd.http.authz when a generation's
hooks are built. Without an authenticated user both answer "denied, no user yet", which makes
mod_authz_core run authentication (check_user_id) and evaluate again. User names compare
case-sensitively, as in Apache. Runs in the thread serving a request (the checks) and while a
generation is built (registration).
"""

from __future__ import annotations

from pyhttpd.config.directives import DirectiveSpec
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.http.authn import USER_NOTE
from pyhttpd.http.authz import AuthzProvider, AuthzStatus, register_provider
from pyhttpd.http.phases import HookContext, Hooks
from pyhttpd.http.request import Request

MODULE_NAME = "authz_user_module"
DIRECTIVES: tuple[DirectiveSpec, ...] = ()


def check_user(request: Request, args: str, parsed: object) -> AuthzStatus:
    user = request.notes.get(USER_NOTE)
    if user is None:
        return AuthzStatus.DENIED_NO_USER
    if user in split_words(args):
        return AuthzStatus.GRANTED
    request.log_error(
        "debug",
        "authz_user",
        f"access to {request.uri} failed, reason: user '{user}' does not meet "
        "'require'ments for user to be allowed access",
        "AH01663",
    )
    return AuthzStatus.DENIED


def check_valid_user(request: Request, args: str, parsed: object) -> AuthzStatus:
    if request.notes.get(USER_NOTE) is None:
        return AuthzStatus.DENIED_NO_USER
    return AuthzStatus.GRANTED


def register(hooks: Hooks, context: HookContext) -> None:
    register_provider(AuthzProvider("user", MODULE_NAME, check_user))
    register_provider(AuthzProvider("valid-user", MODULE_NAME, check_valid_user))


MODULE = Module(
    name=MODULE_NAME,
    source="mod_authz_user.c",
    directives=DIRECTIVES,
    description="Require providers by authenticated user: user, valid-user",
    register_hooks=register,
)
