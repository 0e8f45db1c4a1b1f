"""The parsed configuration tree: directives and sections, each remembering its file and line.

Built by `reader.py` (the read phase), consumed by `processor.py` (the processing phase). Knows no
directive in particular.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Node:
    """One directive (`children` empty, `is_section` False) or one `<Section>` with its body.

    `name` is as written (case kept, without `<`), `args` are the words after variable expansion,
    `raw_args` the unsplit text for RAW_ARGS directives. `line` is the last physical line of a
    continued line, as Apache reports it; for sections, the line of the opening tag.
    """

    name: str
    args: tuple[str, ...]
    raw_args: str
    file: str
    line: int
    is_section: bool = False
    children: tuple[Node, ...] = ()
    tag_closed: bool = True  # False when an opening tag lacks its '>'

    @property
    def key(self) -> str:
        """Lower-case lookup key; sections keep their '<' as in Apache's command tables."""
        return ("<" + self.name if self.is_section else self.name).lower()

    @property
    def display_name(self) -> str:
        """The name as Apache shows it in messages: `<Directory` for sections, `Listen` otherwise."""
        return "<" + self.name if self.is_section else self.name


@dataclass
class IncludedFile:
    """One file read, for `-t -D DUMP_INCLUDES`: its path, nesting depth and the Include's line."""

    path: str
    depth: int
    include_line: int | None = None
    children: list[IncludedFile] = field(default_factory=list)
