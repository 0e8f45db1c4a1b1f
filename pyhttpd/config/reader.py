"""The read phase: files -> a tree of Nodes, running what Apache runs while it reads.

Like Apache's EXEC_ON_READ directives, these act as soon as their line is read and leave no node
behind: Define, UnDefine, Include, IncludeOptional, LoadModule, ServerRoot and the conditional
sections <IfModule>, <IfDefine>, <IfVersion>, <IfFile>, <IfDirective>, <IfSection>. A true
condition's body is spliced into its parent; a false one is skipped, checking only tag nesting.
Every other line becomes a Node for the processing phase. Errors here use Apache's one-line
read-phase shape. Knows modules only through the `ModuleCatalog` it is given.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pyhttpd.config.directives import ModuleDeclaration
from pyhttpd.config.grammar import (
    LineKind,
    LogicalLine,
    ParsedLine,
    expand_variables,
    logical_lines,
    parse_line,
    split_words,
)
from pyhttpd.config.nodes import IncludedFile, Node
from pyhttpd.errors import ConfigError
from pyhttpd.version import APACHE_COMPAT

MAX_INCLUDE_DEPTH = 128
CONDITIONALS = frozenset(
    {"ifmodule", "ifdefine", "ifversion", "iffile", "ifdirective", "ifsection"}
)
READ_PHASE_DIRECTIVES = frozenset(
    {"define", "undefine", "include", "includeoptional", "loadmodule", "serverroot"}
)
# Sections the core always knows, for <IfSection>: every module's own come from its table.
_SECTIONS_ALWAYS = frozenset(c for c in CONDITIONALS) | {"if", "elseif", "else"}


class ModuleCatalog(Protocol):
    """The modules pyhttpd can load: resolves LoadModule names and lists compiled-in modules."""

    def find(self, name: str) -> ModuleDeclaration | None: ...

    def static_modules(self) -> tuple[ModuleDeclaration, ...]: ...


@dataclass(frozen=True)
class LoadedModule:
    """A module in this configuration: compiled in (`path` None) or named by LoadModule."""

    declaration: ModuleDeclaration
    path: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def name(self) -> str:
        return self.declaration.name

    @property
    def is_static(self) -> bool:
        return self.path is None


@dataclass
class ReadResult:
    """Everything the read phase produced, handed to the processing phase."""

    nodes: tuple[Node, ...]
    modules: tuple[LoadedModule, ...]
    server_root: str
    defines: frozenset[str]
    variables: dict[str, str]
    warnings: list[str]
    includes: IncludedFile | None


@dataclass
class _Frame:
    """One open section while reading: its name and where it opened."""

    name: str
    file: str
    line: int


@dataclass
class Reader:
    """Reads a main config file (plus -C / -c text) the way ap_read_config does."""

    server_root: str
    catalog: ModuleCatalog
    defines: set[str] = field(default_factory=set)
    environment: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    variables: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    modules: dict[str, LoadedModule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for module in self.catalog.static_modules():
            self.modules.setdefault(module.name, LoadedModule(module))
        self._include_stack: list[IncludedFile] = []
        self.includes: IncludedFile | None = None

    # --- entry points -----------------------------------------------------------------------

    def read(self, config_file: str, before: str = "", after: str = "") -> ReadResult:
        """Read -C text, the main file and -c text, in Apache's order."""
        nodes: list[Node] = []
        if before:
            nodes += self._read_text(before, "-c/-C directives", depth=0)
        nodes += self.read_file(self._resolve(config_file), depth=0, include_line=None)
        if after:
            nodes += self._read_text(after, "-c/-C directives", depth=0)
        return ReadResult(
            nodes=tuple(nodes),
            modules=tuple(self.modules.values()),
            server_root=self.server_root,
            defines=frozenset(self.defines),
            variables=dict(self.variables),
            warnings=self.warnings,
            includes=self.includes,
        )

    def read_file(self, path: str, depth: int, include_line: int | None) -> list[Node]:
        """Read one file; `path` must already be absolute."""
        if depth > MAX_INCLUDE_DEPTH:
            raise ConfigError(
                f"Exceeded the maximum include directory nesting level of {MAX_INCLUDE_DEPTH}. "
                "You have probably a recursion somewhere.",
                None,
                None,
                read_phase=True,
            )
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                text = handle.read()
        except OSError as error:
            raise ConfigError(
                f"Could not open configuration file {path}: {error.strerror}",
                None,
                None,
                read_phase=True,
            ) from None
        record = IncludedFile(path, depth, include_line)
        if self._include_stack:
            self._include_stack[-1].children.append(record)
        else:
            self.includes = record
        self._include_stack.append(record)
        try:
            return self._read_text(text, path, depth)
        finally:
            self._include_stack.pop()

    # --- the block walker ---------------------------------------------------------------------

    def _read_text(self, text: str, source: str, depth: int) -> list[Node]:
        lines = iter(logical_lines(text))
        return self._read_block(lines, source, depth, frame=None, conditional=False)

    def _read_block(
        self,
        lines: Iterator[LogicalLine],
        source: str,
        depth: int,
        frame: _Frame | None,
        conditional: bool,
    ) -> list[Node]:
        """Read until `frame`'s closing tag (or EOF at top level); return the block's nodes."""
        nodes: list[Node] = []
        for logical in lines:
            text = self._expand(logical)
            parsed = parse_line(text)
            if parsed.kind is LineKind.CLOSE:
                self._check_close(parsed.name, frame, source, logical.line)
                return nodes
            if parsed.kind is LineKind.OPEN:
                nodes += self._read_section(lines, parsed, source, logical.line, depth)
                continue
            node = Node(
                parsed.name, split_words(parsed.raw_args), parsed.raw_args, source, logical.line
            )
            nodes += self._run_read_phase(node, depth)
        if frame is not None and not conditional:
            raise ConfigError(
                f"{frame.file}:{frame.line}: <{frame.name}> was not closed.",
                frame.file,
                frame.line,
                read_phase=True,
            )
        return nodes  # a true conditional left open at EOF is accepted, as in Apache

    def _check_close(self, name: str, frame: _Frame | None, source: str, line: int) -> None:
        if frame is None:
            raise ConfigError(
                f"</{name}> without matching <{name}> section", source, line, read_phase=True
            )
        if name.lower() != frame.name.lower():
            raise ConfigError(
                f"Expected </{frame.name}> but saw </{name}>", source, line, read_phase=True
            )

    def _read_section(
        self, lines: Iterator[LogicalLine], parsed: ParsedLine, source: str, line: int, depth: int
    ) -> list[Node]:
        frame = _Frame(parsed.name, source, line)
        lowered = parsed.name.lower()
        if lowered in CONDITIONALS:
            if not parsed.tag_closed:
                raise ConfigError(
                    f"<{parsed.name}> directive missing closing '>'", source, line, read_phase=True
                )
            args = split_words(parsed.raw_args)
            if self._condition_holds(lowered, parsed.name, args, source, line):
                return self._read_block(lines, source, depth, frame, conditional=True)
            self._skip_block(lines, frame)
            return []
        children = self._read_block(lines, source, depth, frame, conditional=False)
        return [
            Node(
                parsed.name,
                split_words(parsed.raw_args),
                parsed.raw_args,
                source,
                line,
                is_section=True,
                children=tuple(children),
                tag_closed=parsed.tag_closed,
            )
        ]

    def _skip_block(self, lines: Iterator[LogicalLine], frame: _Frame) -> None:
        """Skip a false conditional's body, checking only that its tags nest."""
        stack = [frame.name]
        for logical in lines:
            parsed = parse_line(logical.text)
            if parsed.kind is LineKind.OPEN:
                stack.append(parsed.name)
            elif parsed.kind is LineKind.CLOSE:
                if parsed.name.lower() != stack[-1].lower():
                    raise ConfigError(
                        f"Expected </{stack[-1]}> but saw </{parsed.name}>",
                        frame.file,
                        logical.line,
                        read_phase=True,
                    )
                stack.pop()
                if not stack:
                    return
        raise ConfigError(
            f"Expected </{frame.name}> before end of configuration",
            frame.file,
            frame.line,
            read_phase=True,
        )

    # --- variables ----------------------------------------------------------------------------

    def _expand(self, logical: LogicalLine) -> str:
        text, undefined = expand_variables(logical.text, self._lookup_variable)
        for name in undefined:
            self.warnings.append(f"AH00111: Config variable ${{{name}}} is not defined")
        return text

    def _lookup_variable(self, name: str) -> str | None:
        if name in self.variables:
            return self.variables[name]
        return self.environment.get(name)

    # --- read-phase directives ----------------------------------------------------------------

    def _run_read_phase(self, node: Node, depth: int) -> list[Node]:
        key = node.name.lower()
        if key not in READ_PHASE_DIRECTIVES:
            return [node]
        if key == "define":
            self._define(node)
        elif key == "undefine":
            self._need_args(
                node,
                1,
                1,
                "UnDefine takes one argument, Undefine the existence of a variable. Undo a Define.",
            )
            self.defines.discard(node.args[0])
            self.variables.pop(node.args[0], None)
        elif key in ("include", "includeoptional"):
            return self._include(node, depth, optional=key == "includeoptional")
        elif key == "loadmodule":
            self._load_module(node)
        elif key == "serverroot":
            self._need_args(
                node,
                1,
                1,
                "ServerRoot takes one argument, Common directory of server-related files (logs, confs, etc.)",
            )
            root = self._resolve(node.args[0])
            if not os.path.isdir(root):
                raise ConfigError(
                    "ServerRoot must be a valid directory", node.file, node.line, read_phase=True
                )
            self.server_root = root
        return []

    def _need_args(self, node: Node, least: int, most: int, message: str) -> None:
        if not least <= len(node.args) <= most or "" in node.args[:least]:
            raise ConfigError(message, node.file, node.line, read_phase=True)

    def _define(self, node: Node) -> None:
        self._need_args(
            node,
            1,
            2,
            "Define takes 1-2 arguments, Define a variable, optionally to a value.  Same as passing -D to the command line.",
        )
        name = node.args[0]
        if ":" in name:
            raise ConfigError(
                "Variable name must not contain ':'", node.file, node.line, read_phase=True
            )
        self.defines.add(name)
        if len(node.args) == 2:
            self.variables[name] = node.args[1]

    def _include(self, node: Node, depth: int, optional: bool) -> list[Node]:
        self._need_args(
            node,
            1,
            1,
            f"{node.name} takes one argument, Name(s) of the config file(s) to be included; fails if the wildcard does not match at least one file",
        )
        pattern = self._resolve(node.args[0])
        nodes: list[Node] = []
        for path in self._include_targets(pattern, optional, node):
            try:
                nodes += self.read_file(path, depth + 1, node.line)
            except ConfigError as error:
                if error.file is None:  # name the Include line that asked for the missing file
                    raise ConfigError(error.reason, node.file, node.line, read_phase=True) from None
                raise
        return nodes

    def _include_targets(self, pattern: str, optional: bool, node: Node) -> list[str]:
        """The files an Include names, sorted; a directory means every file below it."""
        if not glob.has_magic(pattern):
            if os.path.isdir(pattern):
                return _files_below(pattern)
            if optional and not os.path.exists(pattern):
                return []
            return [pattern]
        directory, wildcard = os.path.split(pattern)
        if glob.has_magic(directory):
            matches = sorted(glob.glob(pattern))
        else:
            if not os.path.isdir(directory):
                if optional:
                    return []
                raise ConfigError(
                    f"Include/IncludeOptional: Could not open directory {directory}: "
                    "No such file or directory",
                    node.file,
                    node.line,
                    read_phase=True,
                )
            names = sorted(n for n in os.listdir(directory) if fnmatch.fnmatchcase(n, wildcard))
            matches = [os.path.join(directory, name) for name in names]
        files: list[str] = []
        for match in matches:
            files += _files_below(match) if os.path.isdir(match) else [match]
        if not files and not optional:
            raise ConfigError(
                f"Include/IncludeOptional: No matches for the wildcard '{wildcard}' in "
                f"'{directory}', failing",
                node.file,
                node.line,
                read_phase=True,
            )
        return files

    def _load_module(self, node: Node) -> None:
        self._need_args(
            node,
            2,
            2,
            "LoadModule takes two arguments, a module name and the name of a shared object file to load it from",
        )
        name, path = node.args
        if name in self.modules:
            self.warnings.append(f"AH01574: module {name} is already loaded, skipping")
            return
        declaration = self.catalog.find(name)
        if declaration is None:
            raise ConfigError(
                f"Cannot load {path} into server: pyhttpd has no module named {name} "
                "(see `pyhttpd -l` and mods-available/)",
                node.file,
                node.line,
                read_phase=True,
            )
        self.modules[name] = LoadedModule(declaration, path, node.file, node.line)

    # --- conditions ---------------------------------------------------------------------------

    def _condition_holds(
        self, key: str, name: str, args: tuple[str, ...], source: str, line: int
    ) -> bool:
        if not args or args[0] in ("", "!"):
            raise ConfigError(
                f"<{name}> directive requires additional arguments", source, line, read_phase=True
            )
        if key == "ifversion":
            return _version_matches(args, source, line)
        word = args[0]
        negate = word.startswith("!")
        word = word[1:] if negate else word
        if key == "ifmodule":
            result = self._module_present(word)
        elif key == "ifdefine":
            result = word in self.defines
        elif key == "iffile":
            result = os.path.exists(self._resolve(word))
        elif key == "ifdirective":
            result = self._directive_known(word)
        else:  # ifsection
            result = self._section_known(word)
        return result != negate

    def _module_present(self, word: str) -> bool:
        """True for a loaded module's name (`mime_module`) or source file (`mod_mime.c`)."""
        return any(word in (m.name, m.declaration.source) for m in self.modules.values())

    def _directive_known(self, word: str) -> bool:
        lowered = word.lower()
        return lowered in READ_PHASE_DIRECTIVES or any(
            spec.name.lower() == lowered
            for module in self.modules.values()
            for spec in module.declaration.directives
        )

    def _section_known(self, word: str) -> bool:
        lowered = word.lower()
        return lowered in _SECTIONS_ALWAYS or any(
            spec.section and spec.name.lstrip("<").lower() == lowered
            for module in self.modules.values()
            for spec in module.declaration.directives
        )

    def _resolve(self, path: str) -> str:
        return (
            path if os.path.isabs(path) else os.path.normpath(os.path.join(self.server_root, path))
        )


def _files_below(directory: str) -> list[str]:
    """Every file under a directory, recursively, in sorted order (Apache reads them all)."""
    found: list[str] = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        found += _files_below(path) if os.path.isdir(path) else [path]
    return found


_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


def _version_tuple(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.match(text)
    if not match:
        return None
    return (int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0))


def _version_matches(args: tuple[str, ...], source: str, line: int) -> bool:
    """mod_version's test: `[[!]op] version`, op one of = == > >= < <= ~, or /regex/."""
    current = APACHE_COMPAT
    if len(args) == 1:
        operator, wanted = "=", args[0]
    else:
        operator, wanted = args[0], args[1]
    negate = operator.startswith("!")
    operator = operator[1:] if negate else operator
    if operator in ("=", "==") and wanted.startswith("/") and wanted.endswith("/"):
        operator, wanted = "~", wanted[1:-1]
    if operator == "~":
        return bool(re.search(wanted, current)) != negate
    target = _version_tuple(wanted)
    have = _version_tuple(current)
    if target is None or have is None or operator not in ("=", "==", ">", ">=", "<", "<="):
        raise ConfigError(
            f"Unrecognized IfVersion expression '{' '.join(args)}'", source, line, read_phase=True
        )
    results = {
        "=": have == target,
        "==": have == target,
        ">": have > target,
        ">=": have >= target,
        "<": have < target,
        "<=": have <= target,
    }
    return results[operator] != negate
