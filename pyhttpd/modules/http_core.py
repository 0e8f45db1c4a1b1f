"""http_module (http_core.c): HTTP/1.1 keep-alive settings.

Directive table only for now; the connection engine reads these settings.
"""

from __future__ import annotations

from pyhttpd.config.directives import RSRC_CONF, ArgShape, DirectiveSpec, take_atoi, take_flag
from pyhttpd.config.module import Module
from pyhttpd.modules.core_values import seconds

DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "KeepAlive",
        ArgShape.FLAG,
        RSRC_CONF,
        take_flag,
        "Whether persistent connections should be On or Off",
        default=True,
    ),
    DirectiveSpec(
        "KeepAliveTimeout",
        ArgShape.TAKE1,
        RSRC_CONF,
        seconds,
        "Keep-Alive timeout duration (sec)",
        default=5.0,
    ),
    DirectiveSpec(
        "MaxKeepAliveRequests",
        ArgShape.TAKE1,
        RSRC_CONF,
        take_atoi,
        "Maximum number of Keep-Alive requests per connection, or 0 for infinite",
        default=100,
    ),
)

MODULE = Module(name="http_module", source="http_core.c", directives=DIRECTIVES)
