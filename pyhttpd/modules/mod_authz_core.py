"""authz_core_module (mod_authz_core.c): Require, the <RequireAll|Any|None> containers,
AuthMerging and AuthzSendForbiddenOnFailure, and the authorization check.

Directive table on top; hooks at the bottom. Each configuration section (and .htaccess) that holds
authorization directives becomes an AuthzConfig tree; the sections that apply to a request are
merged by AuthMerging and evaluated in the auth_checker phase: granted, or 403 with AH01630. No
Require anywhere means granted. Providers are declared by their modules (`all`, `env` and
`method` here, `ip`, `host`, `local` and `forward-dns` in mod_authz_host, `user` and `valid-user`
in mod_authz_user); the Require handler finds its provider among the loaded modules' and parses
the line with it, so an unknown provider or a bad argument fails the configuration with Apache's
words (in .htaccess: the request's 500). Directive handlers run while a configuration is
processed; the hook in the thread serving a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pyhttpd.config.directives import AUTH_CONF, ArgShape, Command, DirectiveSpec, Merge, take_flag
from pyhttpd.config.grammar import split_words
from pyhttpd.config.model import Section
from pyhttpd.config.module import Module
from pyhttpd.config.nodes import Node
from pyhttpd.errors import DirectiveError
from pyhttpd.http.authn import USER_NOTE, auth_type, note_auth_failure
from pyhttpd.http.authz import (
    AUTHZ_GROUP,
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
    merge_authz,
)
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase, replayable
from pyhttpd.http.request import Request
from pyhttpd.memo import remember


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


def require(cmd: Command, raw: str) -> AuthzRule:
    """add_authz_provider: find the provider among the loaded modules' (case-sensitively), let
    it parse the rest of the line (its ProviderError is the configuration error), then refuse a
    negation that cannot take effect; in Apache's order."""
    name, rest = _take_word(raw)
    negate = name.lower() == "not"
    if negate:
        name, rest = _take_word(rest)
    provider: AuthzProvider | None = cmd.provider(AUTHZ_GROUP, name)
    if provider is None:
        raise DirectiveError(f"Unknown Authz provider: {name}")
    args = rest.strip()
    parsed = provider.parse(args)
    if negate:
        shown, section = _enclosing(cmd)
        if section.logic == "or":
            raise DirectiveError(
                f"negative {cmd.name} directive has no effect in {shown} directive"
            )
    return AuthzRule(provider, args, negate, parsed=parsed)


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
        take_flag,
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
        rule if limit is None else replace(rule, limit=limit)
        for rule in section.settings.values.get("Require", ())
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
            cached = remember(_layer_cache, id(layer), (layer, layer_config(layer)), 4096)
        if cached[1] is not None:
            merged = merge_authz(merged, cached[1])
    return merged


def _check(request: Request, rule: AuthzRule) -> AuthzStatus:
    if not rule.provider.replayable:  # the client, a user, DNS: not the request's head alone
        request.replayable = False
    return rule.provider.check(request, rule.args, rule.parsed)


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


PROVIDERS = (
    AuthzProvider("all", _check_all, _parse_all, replayable=True),
    AuthzProvider("env", _check_env, replayable=True),
    AuthzProvider("method", _check_method, _parse_method, replayable=True),
)


def register(hooks: Hooks, context: HookContext) -> None:
    hooks.add(Phase.AUTH_CHECKER, replayable(authorize), Order.LAST)


MODULE = Module(
    name=MODULE_NAME,
    source="mod_authz_core.c",
    directives=DIRECTIVES,
    description="Require and its containers: authorization logic over pluggable providers",
    register_hooks=register,
    providers=PROVIDERS,
)
