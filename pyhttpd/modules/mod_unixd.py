"""unixd_module (mod_unixd.c): the User and Group the children switch to after binding.

Apache's compiled-in default is `#-1` (nobody); Debian's envvars set www-data.
"""

from __future__ import annotations

from pyhttpd.config.directives import (
    ArgShape,
    Context,
    DirectiveSpec,
    take_server_path,
    take_string,
)
from pyhttpd.config.module import Module

DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "User",
        ArgShape.TAKE1,
        Context.SERVER,
        take_string,
        "Effective user id for this server",
        default="#-1",
        server_only=True,
    ),
    DirectiveSpec(
        "Group",
        ArgShape.TAKE1,
        Context.SERVER,
        take_string,
        "Effective group id for this server",
        default="#-1",
        server_only=True,
    ),
    DirectiveSpec(
        "ChrootDir",
        ArgShape.TAKE1,
        Context.SERVER,
        take_server_path,
        "The directory to chroot(2) into",
        server_only=True,
    ),
)

MODULE = Module(name="unixd_module", source="mod_unixd.c", directives=DIRECTIVES)
