"""authn_core_module (mod_authn_core.c): AuthType and AuthName, and the last word of
authentication when no module serves the AuthType.

Directive table on top; the hook at the bottom. `AuthType None` switches authentication off for a
section (an enclosing section's AuthType no longer applies). The values are read through
pyhttpd.http.authn (ap_auth_type / ap_auth_name) by mod_auth_basic and mod_authz_core.
<AuthnProviderAlias> is not implemented. Directive handlers run while a configuration is
processed; the hook in the thread serving a request.
"""

from __future__ import annotations

from pyhttpd.config.directives import AUTH_CONF, ArgShape, Command, DirectiveSpec
from pyhttpd.config.module import Module
from pyhttpd.http.authn import auth_type
from pyhttpd.http.phases import OK, HookContext, Hooks, Order, Phase
from pyhttpd.http.request import Request

MODULE_NAME = "authn_core_module"


def set_auth_type(cmd: Command, value: str) -> str:
    """`AuthType None` is stored as "" so that it overrides an enclosing section's type."""
    return "" if value.lower() == "none" else value


def set_auth_name(cmd: Command, value: str) -> str:
    return value


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "AuthType",
        ArgShape.TAKE1,
        AUTH_CONF,
        set_auth_type,
        'an HTTP authorization type (e.g., "Basic")',
        override="AuthConfig",
    ),
    DirectiveSpec(
        "AuthName",
        ArgShape.TAKE1,
        AUTH_CONF,
        set_auth_name,
        'the authentication realm (e.g. "Members Only")',
        override="AuthConfig",
    ),
)

# --- hooks -------------------------------------------------------------------------------------


def authenticate_no_user(request: Request) -> int:
    """No AuthType: nothing to authenticate (OK, and no user). An AuthType no loaded module
    serves: AH01796 and 500."""
    kind = auth_type(request)
    if kind is None:
        return OK
    request.log_error(
        "error", "authn_core", f"AuthType {kind} configured without corresponding module", "AH01796"
    )
    return 500


def register(hooks: Hooks, context: HookContext) -> None:
    hooks.add(Phase.CHECK_USER_ID, authenticate_no_user, Order.LAST)


MODULE = Module(
    name=MODULE_NAME,
    source="mod_authn_core.c",
    directives=DIRECTIVES,
    description="AuthType and AuthName: the core of authentication",
    register_hooks=register,
)
