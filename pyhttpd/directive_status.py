"""Which directives pyhttpd acts on today, and the README table generated from the module tables.

Every directive in a module's table is parsed and validated with Apache's messages; `ACTED_ON`
names those whose behaviour is implemented. The README's directive list is generated from here by
scripts/directive_list.py and checked by tests/test_readme.py, so it cannot drift.
"""

from __future__ import annotations

from pyhttpd.modules.registry import default_registry

# Directives whose effect is implemented (the rest are validated only, until their issue lands).
ACTED_ON: frozenset[str] = frozenset(
    {
        "Define", "UnDefine", "Include", "IncludeOptional", "LoadModule", "ServerRoot",
        "<IfModule", "<IfDefine", "<IfVersion", "<IfFile", "<IfDirective", "<IfSection",
        "Require", "<RequireAll", "<RequireAny", "<RequireNone", "AuthMerging", "<Limit",
        "AuthzSendForbiddenOnFailure", "AuthType", "AuthName", "AuthBasicProvider",
        "AuthBasicAuthoritative", "AuthUserFile", "AddOutputFilterByType", "SetOutputFilter",
        "DeflateCompressionLevel", "DeflateWindowSize", "DeflateMemLevel", "DeflateFilterNote",
        "SSLEngine", "SSLCertificateFile", "SSLCertificateKeyFile", "SSLCertificateChainFile",
        "SSLProtocol", "SSLCipherSuite", "SSLHonorCipherOrder", "AddOutputFilter",
        "<LimitExcept", "order", "allow", "deny", "Satisfy", "Options", "AllowOverride",
        "Header", "RequestHeader", "SetEnvIf", "SetEnvIfNoCase", "SetEnvIfExpr", "BrowserMatch",
        "BrowserMatchNoCase", "SetEnv", "UnsetEnv", "PassEnv", "ExpiresActive", "ExpiresByType",
        "ExpiresDefault", "RemoteIPHeader", "RemoteIPProxiesHeader", "RemoteIPTrustedProxy",
        "RemoteIPInternalProxy", "<If", "<ElseIf", "<Else",
        "TypesConfig", "AddType", "AddCharset", "AddEncoding", "AddLanguage", "AddHandler",
        "DefaultLanguage", "RemoveType", "RemoveCharset", "RemoveEncoding", "RemoveLanguage",
        "RemoveHandler", "ForceType", "SetHandler", "UseCanonicalName",
        "DirectoryIndex", "DirectorySlash", "DirectoryCheckHandler", "DirectoryIndexRedirect",
        "FallbackResource",
        "IndexOptions", "IndexOrderDefault", "IndexIgnore", "IndexIgnoreReset", "AddIcon",
        "AddIconByType", "AddIconByEncoding", "AddAlt", "AddAltByType", "AddAltByEncoding",
        "AddDescription", "DefaultIcon", "HeaderName", "ReadmeName", "IndexStyleSheet",
        "IndexHeadInsert",
        "Alias", "AliasMatch", "ScriptAlias", "ScriptAliasMatch", "Redirect", "RedirectMatch",
        "RedirectTemp", "RedirectPermanent", "ExtendedStatus", "SeeRequestTail",
        "WSGIScriptAlias", "WSGIScriptAliasMatch", "WSGIPythonPath", "WSGIPythonHome",
        "WSGICallableObject", "WSGIScriptReloading", "WSGIChunkedRequest", "WSGIPassAuthorization",
        "CGIScriptTimeout", "ProxyPass", "ProxyPassReverse", "ProxyPreserveHost", "ProxyTimeout",
        "ProxyAddHeaders",
        # core, http_core, log_config and reqtimeout, acted on by the connection engine and core
        "<VirtualHost", "<Directory", "<DirectoryMatch", "<Files", "<FilesMatch", "<Location",
        "<LocationMatch", "ServerName", "ServerAlias", "DocumentRoot", "ErrorLog", "LogLevel",
        "ErrorDocument", "AddDefaultCharset", "Listen", "ListenBacklog", "Timeout",
        "LimitRequestLine", "LimitRequestFieldsize", "LimitRequestFields", "LimitRequestBody",
        "HttpProtocolOptions", "TraceEnable", "MergeSlashes", "AllowEncodedSlashes",
        "AcceptPathInfo", "EnableSendfile", "FileETag", "MaxRanges", "ServerTokens",
        "KeepAlive", "KeepAliveTimeout", "MaxKeepAliveRequests", "LogFormat", "CustomLog",
        "TransferLog", "RequestReadTimeout",
        # the process model: the master and the MPMs
        "PidFile", "ScoreBoardFile", "GracefulShutdownTimeout", "MaxConnectionsPerChild", "MaxRequestsPerChild",
        "User", "Group", "StartServers", "ServerLimit", "MaxRequestWorkers", "MaxClients",
        "MinSpareServers", "MaxSpareServers", "MinSpareThreads", "MaxSpareThreads",
        "ThreadsPerChild", "ThreadLimit", "AsyncRequestWorkerFactor",
    }
)  # fmt: skip


def rows() -> list[tuple[str, str, str]]:
    """(directive, module source file, status) for every directive pyhttpd knows."""
    registry = default_registry()
    found: list[tuple[str, str, str]] = []
    for module in registry.static_modules() + registry.shared_modules():
        for spec in module.directives:
            status = "acted on" if spec.name in ACTED_ON else "validated, not yet acted on"
            found.append((spec.name, module.source, status))
    return found


def markdown_table() -> str:
    lines = ["| Directive | Module | Status |", "|---|---|---|"]
    for name, source, status in rows():
        shown = name + ">" if name.startswith("<") else name
        lines.append(f"| `{shown}` | {source} | {status} |")
    return "\n".join(lines)
