"""The processing phase: walk the read tree and run each directive's handler in its context.

For every node: find its row in this generation's directive table (assembled from the loaded
modules, with their declared providers), check the context and the arity in Apache's words, call the handler, and store the value
it returns under the row's setting key in the current scope. Sections open a new scope. Knows no
particular directive: every rule comes from the table rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyhttpd.config.directives import (
    ArgShape,
    Command,
    Context,
    DirectiveSpec,
    Merge,
    ProviderDeclaration,
)
from pyhttpd.config.model import Section, VirtualHost, freeze
from pyhttpd.config.nodes import Node
from pyhttpd.errors import ConfigError, DirectiveError

VIRTUAL_HOST = "virtualhost"


@dataclass
class ScopeBuilder:
    """A scope being filled: the main server, a virtual host, or a section."""

    kind: str
    args: tuple[str, ...] = ()
    file: str = ""
    line: int = 0
    value: Any = None
    values: dict[str, Any] = field(default_factory=dict)
    sections: list[ScopeBuilder] = field(default_factory=list)
    vhosts: list[ScopeBuilder] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def store(self, spec: DirectiveSpec, value: Any) -> None:
        key = spec.setting
        if spec.merge is Merge.APPEND:
            self.values[key] = self.values.get(key, ()) + (value,)
        else:
            self.values[key] = value

    def freeze_section(self, defaults: Mapping[str, Any]) -> Section:
        return Section(
            self.kind,
            self.args,
            self.file,
            self.line,
            self.value,
            freeze(self.values, defaults),
            tuple(child.freeze_section(defaults) for child in self.sections),
        )

    def freeze_vhost(self, defaults: Mapping[str, Any]) -> VirtualHost:
        return VirtualHost(
            self.args,
            self.file,
            self.line,
            freeze(self.values, defaults),
            tuple(child.freeze_section(defaults) for child in self.sections),
        )


@dataclass
class Processor:
    """Runs a directive table over a node tree (one per configuration load)."""

    table: Mapping[str, DirectiveSpec]
    server_root: str
    warnings: list[str] = field(default_factory=list)
    providers: Mapping[tuple[str, str], ProviderDeclaration] = field(default_factory=dict)

    def process(self, nodes: tuple[Node, ...]) -> ScopeBuilder:
        main = ScopeBuilder("server")
        self._walk(nodes, main, Context.SERVER, ())
        return main

    def _walk(
        self, nodes: tuple[Node, ...], scope: ScopeBuilder, context: Context, path: tuple[str, ...]
    ) -> None:
        for node in nodes:
            try:
                self._one(node, scope, context, path)
            except DirectiveError as error:
                raise ConfigError(str(error), node.file, node.line, read_phase=False) from None

    def _one(
        self, node: Node, scope: ScopeBuilder, context: Context, path: tuple[str, ...]
    ) -> None:
        spec = self.table.get(node.key)
        if spec is None:
            raise DirectiveError(
                f"Invalid command '{node.display_name}', perhaps misspelled or defined by a module "
                "not included in the server configuration"
            )
        _check_context(spec, node, context, path)
        if node.is_section and not node.tag_closed:
            raise DirectiveError(f"{node.display_name}> directive missing closing '>'")
        command = Command(
            node, self.server_root, context, path, scope, self.warnings, self.providers
        )
        if spec.section:
            self._section(spec, node, command, scope, context, path)
            return
        for value in _invoke(spec, node, command):
            scope.store(spec, value)

    def _section(
        self,
        spec: DirectiveSpec,
        node: Node,
        command: Command,
        scope: ScopeBuilder,
        context: Context,
        path: tuple[str, ...],
    ) -> None:
        words = spec.check_arity(node.args if spec.shape is not ArgShape.RAW_ARGS else ())
        if spec.shape is ArgShape.RAW_ARGS:
            value = spec.handler(command, node.raw_args)
        else:
            value = spec.handler(command, *words)
        child = ScopeBuilder(node.name, node.args, node.file, node.line, value)
        is_vhost = node.name.lower() == VIRTUAL_HOST
        inner = Context.VHOST if is_vhost else Context.DIRECTORY
        self._walk(node.children, child, inner, (*path, "<" + node.name))
        if is_vhost:
            scope.vhosts.append(child)
        else:
            scope.sections.append(child)


def _check_context(
    spec: DirectiveSpec, node: Node, context: Context, path: tuple[str, ...]
) -> None:
    """Apache's two context errors: the override check, then ap_check_cmd_context."""
    shown = node.display_name
    if spec.server_only and context is Context.VHOST:
        # Apache's rows are RSRC_CONF: they pass the override check directly inside a
        # <VirtualHost> and meet ap_check_cmd_context's GLOBAL_ONLY test instead.
        suffix = ">" if node.is_section else ""
        raise DirectiveError(f"{shown}{suffix} cannot occur within <VirtualHost> section")
    if not spec.contexts & context:
        if not path:
            raise DirectiveError(f"{shown} not allowed here")
        raise DirectiveError(f"{shown} not allowed in {path[-1]}> context")
    if spec.server_only and "<virtualhost" in (p.lower() for p in path):
        suffix = ">" if node.is_section else ""
        raise DirectiveError(f"{shown}{suffix} cannot occur within <VirtualHost> section")


def _invoke(spec: DirectiveSpec, node: Node, command: Command) -> list[Any]:
    """Call the handler with the words its shape promises; return the values to store."""
    shape = spec.shape
    if shape is ArgShape.RAW_ARGS:
        results = [spec.handler(command, node.raw_args)]
    else:
        words = spec.check_arity(node.args)
        if shape is ArgShape.ITERATE:
            results = [spec.handler(command, word) for word in words]
        elif shape is ArgShape.ITERATE2:
            results = [spec.handler(command, words[0], word) for word in words[1:]]
        elif shape is ArgShape.FLAG:
            results = [spec.handler(command, words[0].lower() == "on")]
        else:
            results = [spec.handler(command, *words)]
    return [value for value in results if value is not None]
