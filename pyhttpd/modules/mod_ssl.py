"""ssl_module (mod_ssl.c): HTTPS with Python's ssl module (OpenSSL), name-based by SNI.

Directive table on top; hooks at the bottom. A connection is TLS when the server that answers
its local address by default (the first <VirtualHost> listening there, else the main server) has
`SSLEngine on`; plain and HTTPS listeners live side by side. The handshake runs in the
pre_connection hook, in the thread (or prefork child) that serves the connection, bounded by
Timeout (plain HTTP spoken there gets Apache's 400 page, see ssl_plain_http); the SNI name
then picks the certificate of the vhost it names (ServerName/ServerAlias)
among those on the address. Requests on a TLS connection carry HTTPS=on, and URLs the server
builds (redirects) use https. SSLProtocol maps to a minimum and maximum TLS version,
SSLCipherSuite to OpenSSL's cipher list for TLS 1.2 and below (Python cannot set TLS 1.3 suites:
those lines are accepted and ignored), SSLHonorCipherOrder to the server's preference.
Under event, a TLS connection's handshake and first request are served by a worker thread (as
in Apache's event MPM); between requests it is parked in the listener like any other, and read
there without blocking. Contexts are built once per generation; directive handlers run while a
configuration is processed.
"""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
from dataclasses import dataclass

from pyhttpd.config.directives import RSRC_CONF, ArgShape, Command, DirectiveSpec, Merge, take_flag
from pyhttpd.config.lookup import select_vhost, server_settings
from pyhttpd.config.model import ServerConfig, Settings, VirtualHost
from pyhttpd.config.module import Module
from pyhttpd.errorlog import ErrorLog
from pyhttpd.errors import DirectiveError, StartupError
from pyhttpd.http.generation import server_token
from pyhttpd.http.phases import DECLINED, HookContext, Hooks, Phase, replayable
from pyhttpd.http.request import Request
from pyhttpd.modules.ssl_plain_http import answer_plain_http, speaks_plain_http

MODULE_NAME = "ssl_module"
HTTPS_NOTE = "https"  # set on requests that arrived over TLS (read by redirect.construct_url)
VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
_OBSOLETE = ("SSLv2", "SSLv3")  # accepted in SSLProtocol, never enabled


@dataclass(frozen=True)
class CipherSuite:
    protocol: str  # "SSL" (TLS 1.2 and below) or "TLSv1.3"
    ciphers: str


def engine(cmd: Command, value: str) -> bool:
    lowered = value.lower()
    if lowered == "optional":
        raise DirectiveError("AH10510: 'SSLEngine optional' is no longer supported")
    if lowered not in ("on", "off"):
        raise DirectiveError("Argument must be On or Off")
    return lowered == "on"


def existing_file(cmd: Command, path: str) -> str:
    full = cmd.server_path(path)
    if not os.path.isfile(full) or os.path.getsize(full) == 0:
        raise DirectiveError(f"{cmd.name}: file '{full}' does not exist or is empty")
    return full


def protocols(cmd: Command, *words: str) -> tuple[str, ...]:
    for word in words:
        name = word.lstrip("+-")
        if name.lower() != "all" and name not in VERSIONS and name not in _OBSOLETE:
            raise DirectiveError(f"SSLProtocol: Illegal protocol '{name}'")
    return words


def cipher_suite(cmd: Command, first: str, second: str | None = None) -> CipherSuite:
    return CipherSuite("SSL", first) if second is None else CipherSuite(first, second)


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "SSLEngine",
        ArgShape.TAKE1,
        RSRC_CONF,
        engine,
        "SSL switch for the protocol engine ('on', 'off')",
        default=False,
    ),
    DirectiveSpec(
        "SSLCertificateFile",
        ArgShape.TAKE1,
        RSRC_CONF,
        existing_file,
        "SSL Server Certificate file ('/path/to/file' - PEM or DER encoded)",
        merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "SSLCertificateKeyFile",
        ArgShape.TAKE1,
        RSRC_CONF,
        existing_file,
        "SSL Server Private Key file ('/path/to/file' - PEM or DER encoded)",
        merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "SSLCertificateChainFile",
        ArgShape.TAKE1,
        RSRC_CONF,
        existing_file,
        "SSL Server CA Certificate Chain file ('/path/to/file' - PEM encoded)",
    ),
    DirectiveSpec(
        "SSLProtocol",
        ArgShape.TAKE_ARGV,
        RSRC_CONF,
        protocols,
        "Enable or disable various SSL protocols ('[+-][TLSv1|TLSv1.1|TLSv1.2] ...' - see manual)",
    ),
    DirectiveSpec(
        "SSLCipherSuite",
        ArgShape.TAKE12,
        RSRC_CONF,
        cipher_suite,
        "Colon-delimited list of permitted SSL Ciphers, optional preceded by protocol "
        "identifier ('XXX:...:XXX' - see manual)",
        merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "SSLHonorCipherOrder",
        ArgShape.FLAG,
        RSRC_CONF,
        take_flag,
        "Use the server's cipher ordering preference",
        default=False,
    ),
)

# --- contexts, built once per generation -------------------------------------------------------


def enabled_versions(words: tuple[str, ...]) -> set[str]:
    """SSLProtocol: `all`, `+name` adds, `-name` removes, a bare name resets to itself."""
    enabled: set[str] = set()
    for word in words:
        sign, name = (word[0], word[1:]) if word[:1] in "+-" else ("", word)
        names = set(VERSIONS) if name.lower() == "all" else {name} & set(VERSIONS)
        if sign == "-":
            enabled -= names
        elif sign == "+":
            enabled |= names
        else:
            enabled = set(names)
    return enabled


def _load_certificates(context: ssl.SSLContext, settings: Settings) -> None:
    certificates = settings.get("SSLCertificateFile") or ()
    keys = settings.get("SSLCertificateKeyFile") or ()
    chain = settings.get("SSLCertificateChainFile")
    for index, certificate in enumerate(certificates):
        key = keys[index] if index < len(keys) else None
        if not chain:
            context.load_cert_chain(certificate, key)
            continue
        with open(certificate, "rb") as leaf, open(chain, "rb") as rest:
            combined = leaf.read().rstrip(b"\n") + b"\n" + rest.read()
        with tempfile.NamedTemporaryFile(suffix=".pem") as handle:
            handle.write(combined)
            handle.flush()
            context.load_cert_chain(handle.name, key)


def build_context(settings: Settings, name: str) -> ssl.SSLContext:
    if not settings.get("SSLCertificateFile"):
        raise StartupError(
            f"AH02572: Failed to configure at least one certificate and key for {name}"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    words = settings.get("SSLProtocol")
    if words:
        enabled = sorted(enabled_versions(tuple(words)), key=lambda v: VERSIONS[v].value)
        if not enabled:
            raise StartupError("AH02231: No SSL protocols available [hint: SSLProtocol]")
        context.minimum_version = VERSIONS[enabled[0]]
        context.maximum_version = VERSIONS[enabled[-1]]
    for suite in settings.get("SSLCipherSuite") or ():
        if suite.protocol.upper() in ("SSL", "HTTP/1.1", "ALL"):
            try:
                context.set_ciphers(suite.ciphers)
            except ssl.SSLError as error:
                raise StartupError(
                    f"AH01898: Unable to configure permitted SSL ciphers: {error}"
                ) from None
    if settings.get("SSLHonorCipherOrder"):
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        _load_certificates(context, settings)
    except (OSError, ssl.SSLError) as error:
        raise StartupError(f"AH02565: Certificate and private key for {name}: {error}") from None
    return context


@dataclass
class TlsServers:
    """The generation's TLS contexts: one per server (None = main) with SSLEngine on."""

    config: ServerConfig
    contexts: dict[int | None, ssl.SSLContext]
    timeout: float
    error_log: ErrorLog

    def context_for(self, vhost: VirtualHost | None) -> ssl.SSLContext | None:
        return self.contexts.get(None if vhost is None else id(vhost))

    def default_context(self, address: str, port: int) -> ssl.SSLContext | None:
        return self.context_for(select_vhost(self.config, None, address, port))

    def choose_by_name(self, sock: ssl.SSLSocket, name: str | None, _: ssl.SSLContext) -> None:
        """The SNI callback: switch to the certificate of the vhost the client names."""
        if not name:
            return
        address, port = sock.getsockname()[:2]
        chosen = self.context_for(select_vhost(self.config, name, address, port))
        if chosen is not None:
            sock.context = chosen

    def is_tls(self, sock: socket.socket) -> bool:
        """Whether an accepted socket is on an SSLEngine-on address (a handshake to do)."""
        try:
            address, port = sock.getsockname()[:2]
        except OSError:
            return True  # gone already: let `start` find out
        return self.default_context(address, port) is not None

    def start(self, sock: socket.socket) -> socket.socket:
        """pre_connection: the TLS handshake for connections to an SSLEngine-on address."""
        address, port = sock.getsockname()[:2]
        context = self.default_context(address, port)
        if context is None:
            return sock
        sock.settimeout(self.timeout)
        if speaks_plain_http(sock):
            client = "{}:{}".format(*sock.getpeername()[:2])
            self.error_log.log(
                "info",
                "ssl",
                "SSL handshake failed: HTTP spoken on HTTPS port; trying to send HTML error page",
                tag="AH01996",
                client=client,
            )
            answer_plain_http(sock, server_token(str(self.config.get("ServerTokens"))))
            raise ConnectionAbortedError("plain HTTP on an HTTPS port: answered 400")
        return context.wrap_socket(sock, server_side=True)


def _servers(config: ServerConfig, error_log: ErrorLog) -> TlsServers:
    contexts: dict[int | None, ssl.SSLContext] = {}
    timeout = max(float(config.get("Timeout") or 60), 0.001)
    servers: list[VirtualHost | None] = [None, *config.vhosts]
    for vhost in servers:
        settings = server_settings(config, vhost)
        if not settings.get("SSLEngine"):
            continue
        name = str(settings.get("ServerName") or "localhost")
        contexts[None if vhost is None else id(vhost)] = build_context(settings, name)
    tls = TlsServers(config, contexts, timeout, error_log)
    for context in contexts.values():
        context.sni_callback = tls.choose_by_name  # type: ignore[assignment]
    return tls


def register(hooks: Hooks, context: HookContext) -> None:
    tls = _servers(context.config, context.error_log)
    if not tls.contexts:
        return
    hooks.add_pre_connection(tls.start, tls.is_tls)

    def note_https(request: Request) -> int:
        if tls.default_context(*request.local) is not None:
            request.notes[HTTPS_NOTE] = True
            request.environment["HTTPS"] = "on"
        return DECLINED

    hooks.add(Phase.POST_READ_REQUEST, replayable(note_https))  # the local address alone


MODULE = Module(
    name=MODULE_NAME,
    source="mod_ssl.c",
    directives=DIRECTIVES,
    description="HTTPS: TLS on the connections of SSLEngine-on servers, SNI name-based",
    register_hooks=register,
)
