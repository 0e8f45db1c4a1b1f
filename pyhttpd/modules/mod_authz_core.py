"""authz_core_module (mod_authz_core.c): Require, the <RequireAll|Any|None> containers,
AuthMerging and AuthzSendForbiddenOnFailure, and the authorization check.

Directive table on top; hooks at the bottom. Each configuration section (and .htaccess) that holds
authorization directives becomes an AuthzConfig tree; the sections that apply to a request are
merged by AuthMerging and evaluated in the auth_checker phase: granted, or 403 with AH01630. No
Require anywhere means granted. Providers come from pyhttpd.http.authz's registry: `all`, `env`
and `method` are registered here, `ip`, `host`, `local` and `forward-dns` by mod_authz_host. The
table cannot see which modules are loaded, so an unknown provider or a bad argument is reported
when a request meets it (500) rather than at start-up as Apache would. Directive handlers run
while a configuration is processed; the hook in the thread serving a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyhttpd.config.directives import AUTH_CONF, ArgShape, Command, DirectiveSpec, Merge
from pyhttpd.config.grammar import split_words
from pyhttpd.config.model import Section
from pyhttpd.config.module import Module
from pyhttpd.config.nodes import Node
from pyhttpd.errors import DirectiveError
from pyhttpd.http.authn import USER_NOTE, auth_type, note_auth_failure
from pyhttpd.http.authz import (
    KNOWN_METHODS,
    LAYERS_NOTE,
    SATISFY_ANY_NOTE,
    AuthzBlock,
    AuthzConfig,
    AuthzProvider,
    AuthzRule,
    AuthzStatus,
    MethodLimit,
    ProviderError,
    evaluate,
    find_provider,
    merge_authz,
    parsed_args,
    register_provider,
)
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase
from pyhttpd.http.request import Request


@dataclass(frozen=True)
class Requirement:
    """One `Require [not] provider args...` line; `args` is the unsplit rest (provider-parsed)."""

    provider: str
    args: str
    negate: bool = False

    @property
    def words(self) -> tuple[str, ...]:
        return split_words(self.args)


@dataclass(frozen=True)
class AuthzSection:
    """What <RequireAll>, <RequireAny> or <RequireNone> combine: logic "and"/"or", and negation."""

    logic: str
    negate: bool = False


_SECTIONS = {
    "<requireall": ("<RequireAll>", AuthzSection("and")),
    "<requireany": ("<RequireAny>", AuthzSection("or")),
    "<requirenone": ("<RequireNone>", AuthzSection("or", negate=True)),
}
_DEFAULT = ("<RequireAny>", AuthzSection("or"))  # the implicit section of a <Directory> etc.
_FIRST_WORD = re.compile(r"\s*(\"(?:\\.|[^\"])*\"?|'(?:\\.|[^'])*'?|\S+)\s*")


def on_off(cmd: Command, on: bool) -> bool:
    """FLAG handler: the processor passes On/Off as a bool (directives.take_flag expects text)."""
    return on


def _take_word(text: str) -> tuple[str, str]:
    """Apache's ap_getword_conf: the first (possibly quoted) word and the rest of the text."""
    match = _FIRST_WORD.match(text)
    if not match:
        return "", ""
    words = split_words(match.group(1))
    return (words[0] if words else ""), text[match.end() :]


def _enclosing(cmd: Command) -> tuple[str, AuthzSection]:
    """The innermost authorization container around this line, or the implicit <RequireAny>."""
    for name in reversed(cmd.section_path):
        found = _SECTIONS.get(name.lower())
        if found:
            return found
    return _DEFAULT


def require(cmd: Command, raw: str) -> Requirement:
    provider, rest = _take_word(raw)
    negate = provider.lower() == "not"
    if negate:
        provider, rest = _take_word(rest)
    if not provider:
        raise DirectiveError(f"Unknown Authz provider: {provider}")
    if negate:
        shown, section = _enclosing(cmd)
        if section.logic == "or":
            raise DirectiveError(
                f"negative {cmd.name} directive has no effect in {shown} directive"
            )
    return Requirement(provider, rest.strip(), negate)


def _has_authorization(children: tuple[Node, ...]) -> bool:
    """Whether a container's body holds a Require or a nested container (through <Limit>)."""
    for child in children:
        key = child.key
        if key == "require" or key in _SECTIONS:
            return True
        if key in ("<limit", "<limitexcept") and _has_authorization(child.children):
            return True
    return False


def require_section(cmd: Command, raw: str) -> AuthzSection:
    shown, section = _SECTIONS[cmd.node.key]
    if raw.strip():
        raise DirectiveError(f"{shown} directive doesn't take additional arguments")
    if not _has_authorization(cmd.node.children):
        raise DirectiveError(f"{shown} directive contains no authorization directives")
    parent_shown, parent = _enclosing(cmd)
    if section.negate and parent.logic == "or":
        raise DirectiveError(f"{shown} directive has no effect in {parent_shown} directive")
    return section


def auth_merging(cmd: Command, value: str) -> str:
    lowered = value.lower()
    if lowered not in ("off", "and", "or"):
        raise DirectiveError(f"{cmd.name} must be one of: Off | And | Or")
    return lowered


def _section(name: str, help: str) -> DirectiveSpec:
    return DirectiveSpec(
        name,
        ArgShape.RAW_ARGS,
        AUTH_CONF,
        require_section,
        help,
        section=True,
        override="AuthConfig",
    )


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "Require",
        ArgShape.RAW_ARGS,
        AUTH_CONF,
        require,
        "specifies authorization directives which one must pass (or not) for a request to suceeed",
        merge=Merge.APPEND,
        override="AuthConfig",
    ),
    _section(
        "<RequireAll",
        "container for grouping authorization directives of which none must fail and at least "
        "one must pass for a request to succeed",
    ),
    _section(
        "<RequireAny",
        "container for grouping authorization directives of which one must pass for a request "
        "to succeed",
    ),
    _section(
        "<RequireNone",
        "container for grouping authorization directives of which none must pass for a request "
        "to succeed",
    ),
    DirectiveSpec(
        "AuthMerging",
        ArgShape.TAKE1,
        AUTH_CONF,
        auth_merging,
        "controls how a <Directory>, <Location>, or similar directive's authorization "
        "directives are combined with those of its predecessor",
        override="AuthConfig",
        default="off",
    ),
    DirectiveSpec(
        "AuthzSendForbiddenOnFailure",
        ArgShape.FLAG,
        AUTH_CONF,
        on_off,
        "Controls if an authorization failure should result in a '403 FORBIDDEN' response "
        "instead of the HTTP-conforming '401 UNAUTHORIZED'",
        override="AuthConfig",
        default=False,
    ),
)

# --- hooks -------------------------------------------------------------------------------------

MODULE_NAME = "authz_core_module"
_BLOCKS = ("requireall", "requireany", "requirenone")
_LIMITS = {"limit": False, "limitexcept": True}
_OWN_KEYS = ("Require", "AuthMerging", "AuthzSendForbiddenOnFailure")


def _children(section: Section, limit: MethodLimit | None) -> list[AuthzRule | AuthzBlock]:
    """A section's Require lines and containers as tree nodes; <Limit> bodies join the section
    with their methods, as Apache's cmd->limited does."""
    found: list[AuthzRule | AuthzBlock] = [
        AuthzRule(line.provider, line.args, line.negate, limit)
        for line in section.settings.values.get("Require", ())
    ]
    for child in section.sections:
        kind = child.kind.lower()
        if kind in _BLOCKS:
            value: AuthzSection = child.value
            block = AuthzBlock(value.logic, tuple(_children(child, limit)), value.negate, limit)
            found.append(block)
        elif kind in _LIMITS:
            found += _children(child, MethodLimit(frozenset(child.value), _LIMITS[kind]))
    return found


def layer_config(section: Section) -> AuthzConfig | None:
    """The authz_core config of one section, or None when it holds no authz_core directive
    (Apache creates a module's per-dir config only for sections that use it)."""
    children = _children(section, None)
    values = section.settings.values
    if not children and not any(key in values for key in _OWN_KEYS):
        return None
    block = AuthzBlock("or", tuple(children)) if children else None
    return AuthzConfig(block, str(values.get("AuthMerging", "unset")))


_layer_cache: dict[int, tuple[Section, AuthzConfig | None]] = {}


def request_config(request: Request) -> AuthzConfig:
    """Merge the authorization of every section that applies, in the walk's order."""
    merged = AuthzConfig()
    for layer in request.notes.get(LAYERS_NOTE, ()):
        cached = _layer_cache.get(id(layer))
        if cached is None or cached[0] is not layer:
            if len(_layer_cache) > 4096:
                _layer_cache.clear()
            cached = _layer_cache[id(layer)] = (layer, layer_config(layer))
        if cached[1] is not None:
            merged = merge_authz(merged, cached[1])
    return merged


def _check(request: Request, rule: AuthzRule) -> AuthzStatus:
    provider = find_provider(request.config, rule.provider)
    try:
        if provider is None:
            raise ProviderError(f"Unknown Authz provider: {rule.provider}")
        parsed = parsed_args(provider, rule.args)
    except ProviderError as error:
        request.log_error("error", "authz_core", str(error))
        return AuthzStatus.GENERAL_ERROR
    return provider.check(request, rule.args, parsed)


def _denied(request: Request) -> int:
    target = request.filename if request.filename else f"uri {request.uri}"
    request.log_error(
        "error", "authz_core", f"client denied by server configuration: {target}", "AH01630"
    )
    return 403


def _authenticate(request: Request) -> int:
    """ap_process_request_internal's check_user_id step: OK once a user is known, else the
    status to answer (401 from the authentication module, 500 when none is configured)."""
    result = request.hooks.run(Phase.CHECK_USER_ID, request)
    if result == DECLINED:
        request.log_error(
            "crit", "core", f"configuration error:  couldn't check user: {request.uri}", "AH00025"
        )
        return 500
    if request.notes.get(USER_NOTE) is None:
        request.log_error(
            "error",
            "core",
            f"No authentication done but request not allowed without authentication for "
            f"{request.uri}. Authentication not configured?",
            "AH00027",
        )
        return 500
    return OK


def _inherit_user(request: Request, block: AuthzBlock | None) -> None:
    """A sub-request configured exactly as its main request (same merged settings and
    authorization) takes the main request's user instead of authenticating again, as
    ap_process_request_internal does: mod_dir's index lookup costs no second password hash."""
    main = request.notes.get("main")
    if main is None or USER_NOTE in request.notes or main.notes.get(USER_NOTE) is None:
        return
    if main.per_dir == request.per_dir and request_config(main).block == block:
        request.notes[USER_NOTE] = main.notes[USER_NOTE]


def authorize(request: Request) -> int:
    """authorize_user_core, run as Apache runs it: first without a user (access_checker_ex);
    when a Require needs one, authenticate (check_user_id) and evaluate again (auth_checker).
    Denied without authentication is 403 (AH01630); an authenticated user refused is 401
    (AH01631), or 403 under AuthzSendForbiddenOnFailure."""
    if request.notes.get(SATISFY_ANY_NOTE) == "granted":
        return OK  # Satisfy Any, and the host-based access check let the client in
    block = request_config(request).block
    _inherit_user(request, block)
    if block is None:
        if auth_type(request):
            request.log_error(
                "error",
                "authz_core",
                "AuthType configured with no corresponding authorization directives",
                "AH01627",
            )
            return 500
        return OK
    result = evaluate(block, request.method, lambda rule: _check(request, rule))
    if result is AuthzStatus.GRANTED:
        return OK
    if result in (AuthzStatus.DENIED, AuthzStatus.NEUTRAL):
        return _denied(request)
    if result is not AuthzStatus.DENIED_NO_USER:
        return 500
    status = _authenticate(request)
    if status != OK:
        return status
    result = evaluate(block, request.method, lambda rule: _check(request, rule))
    if result is AuthzStatus.GRANTED:
        return OK
    if result is AuthzStatus.DENIED_NO_USER:
        request.log_error(
            "error",
            "authz_core",
            f"authorization failure (no authenticated user): {request.uri}",
            "AH01629",
        )
        note_auth_failure(request)
        return 401
    if result not in (AuthzStatus.DENIED, AuthzStatus.NEUTRAL):
        return 500
    if not auth_type(request):
        return _denied(request)
    user = request.notes.get(USER_NOTE)
    request.log_error(
        "error",
        "authz_core",
        f'user {user}: authorization failure for "{request.uri}": ',
        "AH01631",
    )
    if request.per_dir.get("AuthzSendForbiddenOnFailure"):
        return 403
    note_auth_failure(request)
    return 401


# --- the providers authz_core brings: all, env, method ----------------------------------------


def _parse_all(args: str) -> AuthzStatus:
    lowered = args.lower()
    if lowered == "granted":
        return AuthzStatus.GRANTED
    if lowered == "denied":
        return AuthzStatus.DENIED
    raise ProviderError("Argument for 'Require all' must be 'granted' or 'denied'")


def _check_all(request: Request, args: str, parsed: AuthzStatus) -> AuthzStatus:
    return parsed


def _check_env(request: Request, args: str, parsed: object) -> AuthzStatus:
    found = any(name in request.environment for name in split_words(args))
    return AuthzStatus.GRANTED if found else AuthzStatus.DENIED


def _parse_method(args: str) -> frozenset[str]:
    methods: set[str] = set()
    for word in split_words(args):
        if word not in KNOWN_METHODS:
            raise ProviderError(f"Invalid Method '{word}'")
        methods.add("GET" if word == "HEAD" else word)
    return frozenset(methods)


def _check_method(request: Request, args: str, parsed: frozenset[str]) -> AuthzStatus:
    method = "GET" if request.method == "HEAD" else request.method
    return AuthzStatus.GRANTED if method in parsed else AuthzStatus.DENIED


def register(hooks: Hooks, context: HookContext) -> None:
    register_provider(AuthzProvider("all", MODULE_NAME, _check_all, _parse_all))
    register_provider(AuthzProvider("env", MODULE_NAME, _check_env))
    register_provider(AuthzProvider("method", MODULE_NAME, _check_method, _parse_method))
    hooks.add(Phase.AUTH_CHECKER, authorize, Order.LAST)


MODULE = Module(
    name=MODULE_NAME,
    source="mod_authz_core.c",
    directives=DIRECTIVES,
    description="Require and its containers: authorization logic over pluggable providers",
    register_hooks=register,
)
