"""Authentication, the part shared by mod_auth_basic, mod_authn_core, mod_authn_file and
mod_authz_core (Apache's mod_auth.h and ap_note_auth_failure).

Modules never import each other: what they share lives here.
- The authn provider registry (ap_register_auth_provider for AUTHN_PROVIDER_GROUP): mod_authn_file
  registers `file`; mod_auth_basic looks providers up by the names AuthBasicProvider lists. A
  lookup only returns a provider whose module is loaded in the request's generation.
- The auth-failure notes (the note_auth_failure hook): an AuthType's module registers how it
  asks the client for credentials (Basic adds `WWW-Authenticate: Basic realm="..."`), so that
  mod_authz_core can ask again when an authenticated user is refused.
- Where the authenticated user lives: request.notes["user"] (Apache's r->user; %u and
  REMOTE_USER read it).
Runs in the thread serving a request; the registries are filled while a generation is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyhttpd.config.model import ServerConfig
    from pyhttpd.http.request import Request

USER_NOTE = "user"  # r->user: set by the authentication module, read by %u and REMOTE_USER
AUTH_TYPE_NOTE = "auth_type"  # r->ap_auth_type once authentication ran
DEFAULT_PROVIDER = "file"  # AUTHN_DEFAULT_PROVIDER: used when AuthBasicProvider is absent


class AuthnStatus(Enum):
    """authn_status: what a provider says about a user name and password."""

    DENIED = "denied"
    GRANTED = "granted"
    USER_FOUND = "user found"
    USER_NOT_FOUND = "user not found"
    GENERAL_ERROR = "error"


CheckPassword = Callable[["Request", str, str], AuthnStatus]


@dataclass(frozen=True)
class AuthnProvider:
    """One authentication provider (`AuthBasicProvider file`): checks a user's password."""

    name: str
    module: str  # the LoadModule name of the module that provides it
    check_password: CheckPassword


_PROVIDERS: dict[str, AuthnProvider] = {}
_FAILURE_NOTES: dict[str, tuple[str, Callable[[Request], None]]] = {}


def register_provider(provider: AuthnProvider) -> None:
    """Called from a module's register_hooks; names are case-sensitive, as in Apache."""
    _PROVIDERS[provider.name] = provider


def find_provider(config: ServerConfig, name: str) -> AuthnProvider | None:
    provider = _PROVIDERS.get(name)
    if provider is None or not config.module_loaded(provider.module):
        return None
    return provider


def register_failure_note(auth_type: str, module: str, note: Callable[[Request], None]) -> None:
    """The note_auth_failure hook of the module serving `AuthType auth_type`."""
    _FAILURE_NOTES[auth_type.lower()] = (module, note)


def auth_type(request: Request) -> str | None:
    """ap_auth_type: the AuthType in force for the request (None when unset or `None`)."""
    value = request.per_dir.get("AuthType")
    return str(value) if value else None


def auth_name(request: Request) -> str | None:
    """ap_auth_name: the AuthName (realm) in force for the request."""
    value = request.per_dir.get("AuthName")
    return str(value) if value else None


def note_auth_failure(request: Request) -> None:
    """ap_note_auth_failure: let the AuthType's module ask the client for credentials again."""
    kind = auth_type(request)
    if kind is None:
        request.log_error(
            "error", "core", f"need AuthType to note auth failure: {request.uri}", "AH00571"
        )
        return
    found = _FAILURE_NOTES.get(kind.lower())
    if found is not None and request.config.module_loaded(found[0]):
        found[1](request)
