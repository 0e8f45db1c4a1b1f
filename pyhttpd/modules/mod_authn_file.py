"""authn_file_module (mod_authn_file.c): AuthUserFile and the `file` authentication provider.

Directive table on top; the provider at the bottom. The password file is read on every check, as
Apache does (an edit by htpasswd takes effect at once): lines `user:hash[:anything]`, blank lines
and `#` comments skipped, surrounding white space ignored. The hash formats are those of
authn_passwords (bcrypt, apr1-MD5, {SHA}, crypt). Directive handlers run while a configuration
is processed; the provider in the thread serving a request.
"""

from __future__ import annotations

from pyhttpd.config.directives import AUTH_CONF, ArgShape, Command, DirectiveSpec
from pyhttpd.config.module import Module
from pyhttpd.http.authn import AuthnProvider, AuthnStatus, register_provider
from pyhttpd.http.phases import HookContext, Hooks
from pyhttpd.http.request import Request
from pyhttpd.modules.authn_passwords import validate

MODULE_NAME = "authn_file_module"


def set_user_file(cmd: Command, path: str) -> str:
    return cmd.server_path(path)


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "AuthUserFile",
        ArgShape.TAKE1,
        AUTH_CONF,
        set_user_file,
        "text file containing user IDs and passwords",
        override="AuthConfig",
    ),
)


def find_hash(path: str, user: bytes) -> bytes | None:
    """The stored hash of `user` in a password file (OSError when it cannot be read)."""
    with open(path, "rb") as lines:
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            name, _, rest = line.partition(b":")
            if name == user:
                return rest.split(b":", 1)[0]
    return None


def check_password(request: Request, user: str, password: str) -> AuthnStatus:
    path = request.per_dir.get("AuthUserFile")
    if not path:
        request.log_error(
            "error", "authn_file", "AuthUserFile not specified in the configuration", "AH01619"
        )
        return AuthnStatus.GENERAL_ERROR
    try:
        stored = find_hash(str(path), user.encode("latin-1"))
    except OSError as error:
        request.log_error(
            "error",
            "authn_file",
            f"({error.errno}){error.strerror}: AH01620: Could not open password file: {path}",
        )
        return AuthnStatus.GENERAL_ERROR
    if stored is None:
        return AuthnStatus.USER_NOT_FOUND
    if validate(password.encode("latin-1"), stored):
        return AuthnStatus.GRANTED
    return AuthnStatus.DENIED


def register(hooks: Hooks, context: HookContext) -> None:
    register_provider(AuthnProvider("file", MODULE_NAME, check_password))


MODULE = Module(
    name=MODULE_NAME,
    source="mod_authn_file.c",
    directives=DIRECTIVES,
    description="the `file` authentication provider: users and password hashes in a text file",
    register_hooks=register,
)
