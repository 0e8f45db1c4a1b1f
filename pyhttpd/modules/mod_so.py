"""so_module (mod_so.c): LoadModule and LoadFile.

Both run while the files are read (the reader resolves LoadModule names through the module
registry); these rows exist so that `-L` lists them and <IfDirective> finds them.
"""

from __future__ import annotations

from pyhttpd.config.directives import ArgShape, Context, DirectiveSpec
from pyhttpd.config.module import Module
from pyhttpd.modules.core_sections import read_phase_only

DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "LoadModule",
        ArgShape.TAKE2,
        Context.SERVER,
        read_phase_only,
        "a module name and the name of a shared object file to load it from",
    ),
    DirectiveSpec(
        "LoadFile",
        ArgShape.ITERATE,
        Context.SERVER,
        read_phase_only,
        "shared object file or library to load into the server at runtime",
    ),
)

MODULE = Module(name="so_module", source="mod_so.c", directives=DIRECTIVES)
