"""Directive declarations: the row shape of every module's command table, as Apache's command_rec.

A module declares each directive once: its name, argument shape, allowed contexts, handler, one-line
help, and how repeated values combine. The processor checks arity and context here, in Apache's
words, before a handler ever runs. Handlers *return* a value into the config being built; they
never set globals. A handler may look up the providers the loaded modules declare (Require's
`ip`, AuthBasicProvider's `file`) through its Command. Knows no particular directive or module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, Flag, auto
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from pyhttpd.errors import DirectiveError

if TYPE_CHECKING:
    from pyhttpd.config.nodes import Node


class ArgShape(Enum):
    """How many words a directive takes (Apache's cmd_how) and the error when it gets others."""

    RAW_ARGS = "raw"  # the unsplit text
    TAKE_ARGV = "argv"  # any number of words
    NO_ARGS = "none"
    TAKE1 = "1"
    TAKE2 = "2"
    TAKE3 = "3"
    TAKE12 = "12"
    TAKE13 = "13"
    TAKE23 = "23"
    TAKE123 = "123"
    ITERATE = "iterate"  # handler called once per word
    ITERATE2 = "iterate2"  # handler called with the first word and each further word
    FLAG = "flag"  # On or Off


_ARITY: dict[ArgShape, tuple[frozenset[int], str]] = {
    ArgShape.NO_ARGS: (frozenset({0}), "takes no arguments"),
    ArgShape.TAKE1: (frozenset({1}), "takes one argument"),
    ArgShape.TAKE2: (frozenset({2}), "takes two arguments"),
    ArgShape.TAKE3: (frozenset({3}), "takes three arguments"),
    ArgShape.TAKE12: (frozenset({1, 2}), "takes 1-2 arguments"),
    ArgShape.TAKE13: (frozenset({1, 3}), "takes one or three arguments"),
    ArgShape.TAKE23: (frozenset({2, 3}), "takes two or three arguments"),
    ArgShape.TAKE123: (frozenset({1, 2, 3}), "takes one, two or three arguments"),
    ArgShape.FLAG: (frozenset({1}), "must be On or Off"),
}


class Context(Flag):
    """Where a directive may appear. HTACCESS is qualified by the directive's `override` class."""

    SERVER = auto()  # the main server config, outside every section
    VHOST = auto()  # directly inside <VirtualHost>
    DIRECTORY = auto()  # inside <Directory>, <Location>, <Files>, their Match forms, or <If>
    HTACCESS = auto()  # in .htaccess, when AllowOverride grants `override`


RSRC_CONF = Context.SERVER | Context.VHOST
ACCESS_CONF = Context.DIRECTORY
CONF_ANYWHERE = Context.SERVER | Context.VHOST | Context.DIRECTORY
OR_ALL = CONF_ANYWHERE | Context.HTACCESS
AUTH_CONF = Context.DIRECTORY | Context.HTACCESS  # Apache's OR_AUTHCFG


class Merge(Enum):
    """How a value combines with an earlier one in the same or an enclosing scope."""

    REPLACE = "replace"  # the later value wins
    APPEND = "append"  # values accumulate in a tuple, in order


class Scope(Protocol):
    """What a handler may read of the config being built (earlier values in its scope)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def __contains__(self, key: object) -> bool: ...


@dataclass
class Command:
    """What a handler learns about the directive it is handling (Apache's cmd_parms)."""

    node: Node
    server_root: str
    context: Context
    section_path: tuple[
        str, ...
    ]  # enclosing section names, outermost first, e.g. ('<VirtualHost',)
    scope: Scope
    warnings: list[str] = field(default_factory=list)
    providers: Mapping[tuple[str, str], ProviderDeclaration] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.node.name

    def provider(self, group: str, name: str) -> Any:
        """ap_lookup_provider: a loaded module's provider in `group` ("authz", "authn") by its
        case-sensitive name, or None. The object is the module's own provider record."""
        return self.providers.get((group, name))

    def server_path(self, path: str) -> str:
        """Resolve a path relative to ServerRoot, as ap_server_root_relative does."""
        return (
            path if os.path.isabs(path) else os.path.normpath(os.path.join(self.server_root, path))
        )

    def warn(self, message: str) -> None:
        """Record a start-up warning (printed on stderr at start-up and by -t)."""
        self.warnings.append(message)


Handler = Callable[..., Any]


@dataclass(frozen=True)
class DirectiveSpec:
    """One row of a module's directive table.

    `key` names the setting the handler's value is stored under (defaults to `name`; an old alias
    such as MaxClients shares MaxRequestWorkers' key). `override` names the AllowOverride class that
    admits it in .htaccess. `section` marks a container such as `<Directory`.
    """

    name: str
    shape: ArgShape
    contexts: Context
    handler: Handler
    help: str
    key: str = ""
    merge: Merge = Merge.REPLACE
    override: str = ""
    section: bool = False
    server_only: bool = False  # Apache's GLOBAL_ONLY check: refused inside <VirtualHost>
    default: Any = None  # the value in force when the directive is absent
    module: str = ""  # filled in by the module registry: the declaring module's source file

    @property
    def setting(self) -> str:
        return self.key or self.name.lstrip("<")

    def check_arity(self, args: Sequence[str]) -> tuple[str, ...]:
        """Return the words a handler receives, or raise Apache's wrong-arity message."""
        if self.shape in (ArgShape.RAW_ARGS, ArgShape.TAKE_ARGV):
            return tuple(args)
        words = _words_before_empty(args)
        has_extra = len(words) < len(args)
        if self.shape in (ArgShape.ITERATE, ArgShape.ITERATE2):
            least = 1 if self.shape is ArgShape.ITERATE else 2
            if len(words) < least:
                plural = "one argument" if least == 1 else "two arguments"
                raise DirectiveError(f"{self.name} requires at least {plural}{self._help_suffix()}")
            return words
        counts, text = _ARITY[self.shape]
        if len(words) not in counts or has_extra:
            suffix = "" if self.shape is ArgShape.FLAG else self._help_suffix()
            raise DirectiveError(f"{self.name} {text}{suffix}")
        if self.shape is ArgShape.FLAG and words[0].lower() not in ("on", "off"):
            raise DirectiveError(f"{self.name} must be On or Off")
        return words

    def _help_suffix(self) -> str:
        return f", {self.help}" if self.help else ""


def _words_before_empty(args: Sequence[str]) -> tuple[str, ...]:
    """Apache stops reading words at the first empty one (`""` counts as absent)."""
    words: list[str] = []
    for word in args:
        if word == "":
            break
        words.append(word)
    return tuple(words)


@dataclass(frozen=True)
class ConfigCheck:
    """What a module's check_config hook returns: corrected settings and start-up warnings."""

    corrections: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


class ProviderDeclaration(Protocol):
    """A provider a module declares (Apache's ap_register_provider): its group and name.

    The config layer only files it by (group, name) for the directive handlers; what else the
    record holds (a parse function, a check) is between the declaring and the using module.
    """

    @property
    def group(self) -> str: ...

    @property
    def name(self) -> str: ...


def provider_table(
    modules: Sequence[ModuleDeclaration],
) -> Mapping[tuple[str, str], ProviderDeclaration]:
    """This generation's providers: (group, name) -> provider of the first loaded module
    declaring it. Names are case-sensitive, as in Apache's provider hash."""
    table: dict[tuple[str, str], ProviderDeclaration] = {}
    for module in modules:
        for provider in module.providers:
            table.setdefault((provider.group, provider.name), provider)
    return MappingProxyType(table)


class ModuleDeclaration(Protocol):
    """What the config layer needs to know of a module: its names, directive table and
    providers."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def directives(self) -> tuple[DirectiveSpec, ...]: ...

    @property
    def mpm(self) -> str | None: ...

    @property
    def providers(self) -> tuple[ProviderDeclaration, ...]: ...

    def check_config(self, settings: Scope) -> ConfigCheck: ...


# --- value parsers shared by directive handlers -------------------------------------------------


def atoi(text: str) -> int:
    """C's atoi, which Apache uses for MPM numbers: leading digits, else 0 ("abc" is 0)."""
    stripped = text.strip()
    sign = -1 if stripped.startswith("-") else 1
    digits = stripped.lstrip("+-")
    count = len(digits) - len(digits.lstrip("0123456789"))
    return sign * int(digits[:count]) if count else 0


def take_string(cmd: Command, value: str) -> str:
    return value


def take_flag(cmd: Command, on: bool) -> bool:
    """FLAG rows receive the parsed bool (the processor has already checked On/Off)."""
    return on


def take_atoi(cmd: Command, value: str) -> int:
    return atoi(value)


def take_server_path(cmd: Command, value: str) -> str:
    return cmd.server_path(value)


def take_words(cmd: Command, *words: str) -> tuple[str, ...]:
    return words


def take_nonnegative(cmd: Command, value: str) -> int:
    """A strictly parsed count (LimitRequest*, Timeout): Apache refuses junk and negatives."""
    if not value.strip().isdigit():
        raise DirectiveError(f"{cmd.name} must be a non-negative integer")
    return int(value)


def choice(*allowed: str, message: str = "") -> Handler:
    """A handler that accepts one of `allowed` (case-insensitively) and returns its canonical form."""
    canonical = {option.lower(): option for option in allowed}

    def handle(cmd: Command, value: str) -> str:
        found = canonical.get(value.lower())
        if found is None:
            raise DirectiveError(message or f"{cmd.name}: unknown value '{value}'")
        return found

    return handle
