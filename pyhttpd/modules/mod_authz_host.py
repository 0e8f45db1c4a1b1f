"""authz_host_module (mod_authz_host.c): the `ip`, `host`, `local` and `forward-dns` providers
for Require.

It has no directives of its own: its providers register with authz_core's provider registry when
the HTTP layer builds a generation's hooks (`Require ip 10.0.0.0/8` is stored by mod_authz_core and
checked at request time). Runs only while a configuration is processed; later, in the children.
"""

from __future__ import annotations

from pyhttpd.config.directives import DirectiveSpec
from pyhttpd.config.module import Module

PROVIDERS: tuple[str, ...] = ("ip", "host", "local", "forward-dns")

DIRECTIVES: tuple[DirectiveSpec, ...] = ()

MODULE = Module(
    name="authz_host_module",
    source="mod_authz_host.c",
    directives=DIRECTIVES,
    description="Require providers by client address and host name: ip, host, local, forward-dns",
)
