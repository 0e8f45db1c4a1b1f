"""version_module (mod_version.c): <IfVersion>, evaluated while the files are read.

pyhttpd compares against the Apache release it models (pyhttpd.version.APACHE_COMPAT).
"""

from __future__ import annotations

from pyhttpd.config.directives import OR_ALL, ArgShape, DirectiveSpec
from pyhttpd.config.module import Module
from pyhttpd.modules.core_sections import read_phase_only

DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "<IfVersion",
        ArgShape.TAKE_ARGV,
        OR_ALL,
        read_phase_only,
        "a comparison operator followed by a version string",
        section=True,
    ),
)

MODULE = Module(name="version_module", source="mod_version.c", directives=DIRECTIVES)
