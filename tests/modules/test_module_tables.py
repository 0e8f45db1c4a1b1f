"""The shared modules' directive tables, and the Debian-style mods-available/ files.

Pure tier through `pyhttpd.config.load`: for each module, a good configuration loads and yields the
values the HTTP layer will read, and a bad line fails with Apache's two-line AH00526 text (the
reason strings are mod_*.c's own). The last tests load every mods-available/NAME.load and .conf.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pyhttpd.config import ServerConfig, load
from pyhttpd.config.modfiles import read_headers
from pyhttpd.errors import ConfigError
from pyhttpd.modules.core_values import extended_status
from pyhttpd.modules.registry import SHARED_MODULES, default_registry

ROOT = Path(__file__).resolve().parents[2]
AVAILABLE = ROOT / "mods-available"
MODULES = sorted(
    name.removesuffix("_module") for name in SHARED_MODULES if not name.startswith("mpm_")
)

Load = Callable[..., ServerConfig]


def header(modules: tuple[str, ...], mpm: str = "event") -> str:
    lines = [f"LoadModule mpm_{mpm}_module modules/mod_mpm_{mpm}.so"]
    lines += [f"LoadModule {name}_module modules/mod_{name}.so" for name in modules]
    return "\n".join(lines) + "\n"


@pytest.fixture
def conf_path(tmp_path: Path) -> Path:
    return tmp_path / "httpd.conf"


@pytest.fixture
def load_with(tmp_path: Path, conf_path: Path) -> Load:
    """load_with(("mime",), text): the text starts on line 2 + the number of modules."""

    def run(modules: tuple[str, ...], text: str) -> ServerConfig:
        conf_path.write_text(header(modules) + text)
        return load(str(conf_path), str(tmp_path), default_registry(), environment={})

    return run


def ah00526(path: Path, line: int, reason: str) -> str:
    return f"AH00526: Syntax error on line {line} of {path}:\n{reason}"


def check_error(load_with: Load, path: Path, modules: tuple[str, ...], text: str, line: int,
                reason: str) -> None:  # fmt: skip
    """`line` counts within `text` (1-based); the LoadModule header is added to it."""
    with pytest.raises(ConfigError) as raised:
        load_with(modules, text)
    assert str(raised.value) == ah00526(path, len(modules) + 1 + line, reason)


# One bad configuration per row: (modules, text, line within text, Apache's reason).
BAD = [
    # mod_mime
    (("mime",), "AddType text/html\n", 1,
     "AddType requires at least two arguments, a mime type followed by one or more file "
     "extensions"),
    (("mime",), "MultiviewsMatch Any Handlers\n", 1,
     "Handlers is incompatible with Any and NegotiatedOnly"),
    (("mime",), "MultiviewsMatch Filters\nMultiviewsMatch Any\n", 2,
     "Any is incompatible with NegotiatedOnly, Filters and Handlers"),
    (("mime",), "MultiviewsMatch Sometimes\n", 1, "Unrecognized option"),
    (("mime",), "TypesConfig a b\n", 1,
     "TypesConfig takes one argument, the MIME types config file"),
    # mod_dir
    (("dir",), "DirectoryIndexRedirect 200\n", 1,
     "DirectoryIndexRedirect only accepts values between 300 and 399"),
    (("dir",), "DirectoryIndexRedirect sometimes\n", 1,
     "DirectoryIndexRedirect ON|OFF|permanent|temp|seeother|3xx"),
    (("dir",), "DirectorySlash maybe\n", 1, "DirectorySlash must be On or Off"),
    # mod_alias
    (("alias",), "Redirect foo /a http://b/\n", 1, "Redirect: invalid first argument (of three)"),
    (("alias",), "Redirect /a b\n", 1, "Redirect to non-URL"),
    (("alias",), "Redirect gone /a http://b/\n", 1, "Redirect URL not valid for this status"),
    (("alias",), "Redirect permanent /a\n", 1, "URL to redirect to is missing"),
    (("alias",), "AliasMatch ^/(+ /x\n", 1, "Regular expression could not be compiled."),
    (("alias",), "Alias /x\n", 1, "Alias must have two arguments when used globally"),
    (("alias",), "<Directory /tmp>\nAlias /a /b\n</Directory>\n", 2,
     "Alias cannot occur within <Directory> section"),
    (("alias",), "<Location /a>\nScriptAlias /a /b\n</Location>\n", 2,
     "ScriptAlias cannot occur within <Location> section"),
    (("alias",), "AliasMatch /a\n", 1,
     "AliasMatch takes two arguments, a regular expression and a filename"),
    # mod_authz_core
    (("authz_core", "authz_host"), "<Directory />\nRequire not ip 10.1\n</Directory>\n", 2,
     "negative Require directive has no effect in <RequireAny> directive"),
    (("authz_core", "authz_host"), "<Directory />\n<RequireAny>\nRequire not ip 10.1\n"
     "</RequireAny>\n</Directory>\n", 3,
     "negative Require directive has no effect in <RequireAny> directive"),
    # the providers: found and parsed when the configuration is read (add_authz_provider)
    (("authz_core", "authz_host"), "<Directory />\nRequire ipp 10.0.0.0/8\n</Directory>\n", 2,
     "Unknown Authz provider: ipp"),
    (("authz_core",), "<Directory />\nRequire not ip 10.1\n</Directory>\n", 2,
     "Unknown Authz provider: ip"),
    (("authz_core",), "<Directory />\nRequire All granted\n</Directory>\n", 2,
     "Unknown Authz provider: All"),
    (("authz_core",), "<Directory />\nRequire not\n</Directory>\n", 2,
     "Unknown Authz provider: "),
    (("authz_core",), "<Directory />\nRequire all maybe\n</Directory>\n", 2,
     "Argument for 'Require all' must be 'granted' or 'denied'"),
    (("authz_core",), "<Directory />\nRequire not all maybe\n</Directory>\n", 2,
     "Argument for 'Require all' must be 'granted' or 'denied'"),
    (("authz_core",), "<Directory />\nRequire method GET FOO\n</Directory>\n", 2,
     "Invalid Method 'FOO'"),
    (("authz_core",), "<Directory />\n<RequireAll>\nRequire not nope\n</RequireAll>\n"
     "</Directory>\n", 3, "Unknown Authz provider: nope"),
    (("authz_host", "authz_core"), "<Directory />\nRequire ip 300.1.1.1\n</Directory>\n", 2,
     "ip address '300.1.1.1' appears to be invalid: The specified IP address is invalid."),
    (("authz_host", "authz_core"), "<Directory />\nRequire ip 10.0.0.0/33\n</Directory>\n", 2,
     "ip address '10.0.0.0/33' appears to be invalid: The specified network mask is invalid."),
    (("authz_host", "authz_core"), "<Directory />\nRequire ip\n</Directory>\n", 2,
     "'require ip' requires an argument"),
    (("authz_core",), "<Directory />\nRequire user bob\n</Directory>\n", 2,
     "Unknown Authz provider: user"),
    (("authz_user", "authz_core"), "<Directory />\nRequire User bob\n</Directory>\n", 2,
     "Unknown Authz provider: User"),
    (("authz_core",), "<Directory />\n<RequireAll>\n</RequireAll>\n</Directory>\n", 2,
     "<RequireAll> directive contains no authorization directives"),
    (("authz_core",), "<Directory />\n<RequireNone>\nRequire ip 1.2.3.4\n</RequireNone>\n"
     "</Directory>\n", 2, "<RequireNone> directive has no effect in <RequireAny> directive"),
    (("authz_core",), "<Directory />\n<RequireAll foo>\nRequire all granted\n</RequireAll>\n"
     "</Directory>\n", 2, "<RequireAll> directive doesn't take additional arguments"),
    (("authz_core",), "<Directory />\nAuthMerging maybe\n</Directory>\n", 2,
     "AuthMerging must be one of: Off | And | Or"),
    (("authz_core",), "Require all granted\n", 1, "Require not allowed here"),
    # mod_access_compat
    (("access_compat",), "<Directory />\norder allow\n</Directory>\n", 2, "unknown order"),
    (("access_compat",), "<Directory />\nallow to 10.0.0.1\n</Directory>\n", 2,
     "allow and deny must be followed by 'from'"),
    (("access_compat",), "<Directory />\nallow from\n</Directory>\n", 2,
     "allow requires at least two arguments, 'from' followed by hostnames or IP-address "
     "wildcards"),
    (("access_compat",), "<Directory />\ndeny from 10.0.0.300\n</Directory>\n", 2,
     "The specified IP address is invalid."),
    (("access_compat",), "<Directory />\ndeny from 10.0.0.0/33\n</Directory>\n", 2,
     "The specified network mask is invalid."),
    (("access_compat",), "<Directory />\ndeny from example/8\n</Directory>\n", 2,
     "An IP address was expected"),
    (("access_compat",), "<Directory />\nSatisfy some\n</Directory>\n", 2,
     "Satisfy either 'any' or 'all'."),
    # mod_headers
    (("headers",), "Header frobnicate X y\n", 1,
     "first argument must be 'add', 'set', 'setifempty', 'append', 'merge', 'unset', 'echo', "
     "'note', 'edit', or 'edit*'."),
    (("headers",), "Header set X\n", 1, "Header requires three arguments"),
    (("headers",), "RequestHeader echo X\n", 1, "Header echo only valid on Header directives"),
    (("headers",), "Header edit X (\n", 1, "Header edit requires a match and a substitution"),
    (("headers",), "Header edit X ( y\n", 1, "Header edit regex could not be compiled"),
    (("headers",), "Header set X y bogus\n", 1, "Unknown parameter: bogus"),
    (("headers",), "Header set X y env=\n", 1,
     "error: missing environment variable name. envclause should be in the form env=envar "),
    (("headers",), 'Header set X "%Q"\n', 1, "Unrecognized header format %Q"),
    (("headers",), "Header set X y z env=A\n", 1, "Too many arguments to directive"),
    (("headers",), "Header always set X y z env=A more\n", 1, "Header has too many arguments"),
    (("headers",), "Header unset X env=A early\n", 1, "header unset takes two arguments"),
    # mod_setenvif
    (("setenvif",), "SetEnvIf\n", 1, "Missing header-field name for SetEnvIf"),
    (("setenvif",), "SetEnvIf Host\n", 1, "Missing regular expression for SetEnvIf"),
    (("setenvif",), "SetEnvIfNoCase Host example\n", 1,
     "Missing envariable expression for SetEnvIfNoCase"),
    (("setenvif",), 'BrowserMatch "(unclosed" x\n', 1, "BrowserMatch regex could not be compiled."),
    (("setenvif",), "SetEnvIfExpr\n", 1, "Missing expression for SetEnvIfExpr"),
    # mod_env
    (("env",), "SetEnv a b c\n", 1,
     "SetEnv takes 1-2 arguments, an environment variable name and optional value to pass to "
     "CGI."),
    (("env",), "UnsetEnv\n", 1,
     "UnsetEnv requires at least one argument, a list of variables to remove from the CGI "
     "environment."),
    # mod_expires
    (("expires",), 'ExpiresByType text/html "access plus 1 fortnight"\n', 1,
     "'ExpiresByType text/html access plus 1 fortnight': bad expires code, unrecognised "
     "<type>'fortnight'"),
    (("expires",), 'ExpiresDefault "later plus 1 day"\n', 1,
     "'ExpiresDefault later plus 1 day': bad expires code, unrecognised <base> 'later'"),
    (("expires",), 'ExpiresDefault "access plus one day"\n', 1,
     "'ExpiresDefault access plus one day': bad expires code, numeric value expected <num> "
     "'one'"),
    (("expires",), 'ExpiresDefault "access plus 1"\n', 1,
     "'ExpiresDefault access plus 1': bad expires code, missing <type>"),
    (("expires",), "ExpiresActive yes\n", 1, "ExpiresActive must be On or Off"),
    # mod_remoteip
    (("remoteip",), "RemoteIPTrustedProxy 10.0.0.300\n", 1,
     "RemoteIP: Error parsing IP 10.0.0.300 (The specified IP address is invalid. error) for "
     "RemoteIPTrustedProxy"),
    (("remoteip",), "RemoteIPInternalProxy 10.0.0.0/40\n", 1,
     "RemoteIP: Error parsing IP 10.0.0.0/40 (The specified network mask is invalid. error) for "
     "RemoteIPInternalProxy"),
    (("remoteip",), "RemoteIPTrustedProxy proxy.example.com/24\n", 1,
     "RemoteIP: Error parsing IP proxy.example.com/24 the subnet /24 is invalid for "
     "RemoteIPTrustedProxy"),
    # mod_autoindex
    (("autoindex",), "IndexOptions Fancy\n", 1, "Invalid directory indexing option"),
    (("autoindex",), "IndexOptions +None\n", 1, "Cannot combine '+' or '-' with 'None' keyword"),
    (("autoindex",), "IndexOptions None\nIndexOptions FancyIndexing\n", 2,
     "Cannot combine other IndexOptions keywords with 'None'"),
    (("autoindex",), "IndexOptions NameWidth=3\n", 1, "NameWidth value must be greater than 5"),
    (("autoindex",), "IndexOptions NameWidth\n", 1,
     "NameWidth with no value may only appear as '-NameWidth'"),
    (("autoindex",), "IndexOptions -DescriptionWidth=20\n", 1,
     "Cannot combine '-' with DescriptionWidth=n"),
    (("autoindex",), "IndexOptions +Charset=UTF-8\n", 1,
     "Cannot combine '+' or '-' with Charset keyword"),
    (("autoindex",), "IndexOrderDefault Up Name\n", 1,
     "First keyword must be 'Ascending' or 'Descending'"),
    (("autoindex",), "IndexOrderDefault Ascending Color\n", 1,
     "Second keyword must be 'Name', 'Date', 'Size', or 'Description'"),
    (("autoindex",), "FancyIndexing on\n", 1,
     "The FancyIndexing directive is no longer supported. Use IndexOptions FancyIndexing."),
    # mod_status
    (("status",), "<VirtualHost *:80>\nExtendedStatus Off\n</VirtualHost>\n", 2,
     "ExtendedStatus cannot occur within <VirtualHost> section"),
    (("status",), "SeeRequestTail maybe\n", 1, "SeeRequestTail must be On or Off"),
    # mod_wsgi (messages checked against Debian's mod_wsgi 4.9.4)
    (("wsgi",), "WSGIScriptAlias /x\n", 1,
     "WSGIScriptAlias requires at least two arguments, Map location to target WSGI script file."),
    (("wsgi",), "WSGIScriptAlias /x /y foo=bar\n", 1,
     "Invalid option to WSGI script alias definition."),
    (("wsgi",), "WSGIScriptAlias /x /y callable-object=\n", 1,
     "Invalid name for WSGI callable object."),
    (("wsgi",), "WSGIScriptReloading maybe\n", 1, "WSGIScriptReloading must be one of: Off | On"),
    (("wsgi",), "<VirtualHost *:80>\nWSGIPythonPath /tmp\n</VirtualHost>\n", 2,
     "WSGIPythonPath cannot occur within <VirtualHost> section"),
    (("wsgi",), "WSGIDaemonProcess x bogus=1\n", 1,
     "Invalid option to WSGI daemon process definition."),
    (("wsgi",), "WSGIDaemonProcess x processes=0\n", 1,
     "Invalid process count for WSGI daemon process."),
    (("wsgi",), "WSGIImportScript /x.wsgi\n", 1, "Name of WSGI application group required."),
    (("wsgi",), "WSGIImportScript /x.wsgi application-group=a process-group=nosuch\n", 1,
     "WSGI process group not yet configured."),
    (("wsgi",), "<VirtualHost *:80>\nWSGIRestrictEmbedded On\n</VirtualHost>\n", 2,
     "WSGIRestrictEmbedded cannot occur within <VirtualHost> section"),
    # mod_cgi and mod_cgid
    (("cgi",), "CGIScriptTimeout abc\n", 1, "CGIScriptTimeout has wrong format"),
    (("cgi",), "ScriptLog a b\n", 1,
     "ScriptLog takes one argument, the name of a log for script debugging info"),
    (("cgid",), "ScriptSock\n", 1, "ScriptSock takes one argument, the name of the socket to "
     "use for communication with the cgi daemon."),
    (("cgid",), "CGIScriptTimeout 5\n", 1, "Invalid command 'CGIScriptTimeout', perhaps "
     "misspelled or defined by a module not included in the server configuration"),
    # mod_proxy (and mod_proxy_http, which has no directives of its own)
    (("proxy", "proxy_http"), "ProxyPass /x\n", 1,
     "ProxyPass|ProxyPassMatch needs a path when not defined in a location"),
    (("proxy",), "<Location /l>\nProxyPass /l http://a/\n</Location>\n", 2,
     "ProxyPass|ProxyPassMatch can not have a path when defined in a location."),
    (("proxy",), "ProxyPass /x http://a/ foo\n", 1,
     "Invalid ProxyPass|ProxyPassMatch parameter. Parameter must be in the form 'key=value'."),
    (("proxy",), "ProxyPass /x y\n", 1, "ProxyPass URL must be absolute!: y"),
    (("proxy",), "ProxyTimeout 0\n", 1, "Proxy Timeout must be at least 1 second."),
    (("proxy",), "ProxyPassReverse http://a/\n", 1,
     "ProxyPassReverse needs a path when not defined in a location"),
    (("proxy",), "ProxyPreserveHost maybe\n", 1, "ProxyPreserveHost must be On or Off"),
    # mod_reqtimeout
    (("reqtimeout",), "RequestReadTimeout header\n", 1,
     "Invalid RequestReadTimeout parameter. Parameter must be in the form 'key=value'"),
    (("reqtimeout",), "RequestReadTimeout headers=10\n", 1,
     "RequestReadTimeout: headers=10: Unknown RequestReadTimeout parameter"),
    (("reqtimeout",), "RequestReadTimeout header=10-20\n", 1,
     "RequestReadTimeout: header=10-20: Must set MinRate option if using timeout range"),
    (("reqtimeout",), "RequestReadTimeout header=20-10,minrate=5\n", 1,
     "RequestReadTimeout: header=20-10,minrate=5: Maximum timeout must be larger than initial "
     "timeout"),
    (("reqtimeout",), "RequestReadTimeout body=abc\n", 1,
     "RequestReadTimeout: body=abc: Value 'abc' not numerical"),
    (("reqtimeout",), "RequestReadTimeout body=10s\n", 1,
     "RequestReadTimeout: body=10s: Cannot parse 's'"),
    (("reqtimeout",), "RequestReadTimeout body=10,MinRate=0\n", 1,
     "RequestReadTimeout: body=10,MinRate=0: Minimum data rate must be larger than 0"),
    (("reqtimeout",), "<Directory />\nRequestReadTimeout body=10\n</Directory>\n", 2,
     "RequestReadTimeout not allowed in <Directory> context"),
    # mod_deflate
    (("deflate",), "DeflateCompressionLevel 10\n", 1, "Compression Level must be between 1 and 9"),
    (("deflate",), "DeflateBufferSize 0\n", 1, "DeflateBufferSize should be positive"),
    (("deflate",), "DeflateWindowSize 16\n", 1, "DeflateWindowSize must be between 1 and 15"),
    (("deflate",), "DeflateFilterNote bytes out\n", 1, "Unknown note type bytes"),
    # mod_authn_core, mod_authn_file, mod_auth_basic
    (("authn_core",), "AuthType Basic\n", 1, "AuthType not allowed here"),
    (("authn_core",), "<Directory />\nAuthName a b\n</Directory>\n", 2,
     'AuthName takes one argument, the authentication realm (e.g. "Members Only")'),
    (("authn_file",), "<Directory />\nAuthUserFile a b\n</Directory>\n", 2,
     "AuthUserFile takes one argument, text file containing user IDs and passwords"),
    (("auth_basic",), "<Directory />\nAuthBasicAuthoritative maybe\n</Directory>\n", 2,
     "AuthBasicAuthoritative must be On or Off"),
    (("auth_basic",), "<Directory />\nAuthBasicProvider\n</Directory>\n", 2,
     "AuthBasicProvider requires at least one argument, specify the auth providers for a "
     "directory or location"),
    (("auth_basic",), "<Directory />\nAuthBasicProvider nosuch\n</Directory>\n", 2,
     "Unknown Authn provider: nosuch"),
    (("auth_basic",), "<Directory />\nAuthBasicProvider file\n</Directory>\n", 2,
     "Unknown Authn provider: file"),
    (("auth_basic", "authn_file"), "<Directory />\nAuthBasicProvider file File\n</Directory>\n",
     2, "Unknown Authn provider: File"),
    # mod_ssl
    (("ssl",), "SSLProtocol all -TLSv9\n", 1, "SSLProtocol: Illegal protocol 'TLSv9'"),
    (("ssl",), "SSLEngine maybe\n", 1, "Argument must be On or Off"),
    (("ssl",), "<Directory />\nSSLEngine on\n</Directory>\n", 2,
     "SSLEngine not allowed in <Directory> context"),
    # mod_filter
    (("filter",), "AddOutputFilterByType DEFLATE\n", 1,
     "AddOutputFilterByType requires at least two arguments"),
    (("filter",), "FilterProvider a b\n", 1,
     "FilterProvider takes three arguments, filter-name provider-name match-expression"),
]  # fmt: skip


@pytest.mark.parametrize(("modules", "text", "line", "reason"), BAD)
def test_bad_line(load_with, conf_path, modules, text, line, reason) -> None:
    check_error(load_with, conf_path, modules, text, line, reason)


def test_bad_lines_cover_every_module() -> None:
    covered = {name for modules, *_ in BAD for name in modules}
    assert covered >= set(MODULES)


# --- good configurations and the values they produce --------------------------------------------


def test_mime(load_with) -> None:
    config = load_with(
        ("mime",),
        "TypesConfig conf/my.types\nAddType Text/HTML .HTML htm\nAddHandler cgi-script .cgi\n"
        "RemoveType .txt\nMultiviewsMatch Handlers Filters\nDefaultLanguage en\n",
    )
    assert config.get("TypesConfig").endswith("/conf/my.types")
    assert [(m.value, m.extension) for m in config.get("AddType")] == [
        ("text/html", "html"),
        ("text/html", "htm"),
    ]
    assert config.get("AddHandler")[0].value == "cgi-script"
    assert config.get("RemoveType") == ("txt",)
    assert config.get("MultiviewsMatch") == ("Handlers", "Filters")


def test_mime_types_config_default(load_with) -> None:
    assert load_with(("mime",), "").get("TypesConfig") == "conf/mime.types"


def test_dir(load_with) -> None:
    config = load_with(
        ("dir",),
        "DirectoryIndex index.html index.htm\nDirectoryIndex extra.html\nDirectorySlash Off\n"
        "DirectoryIndexRedirect permanent\nFallbackResource /index.php\n",
    )
    assert config.get("DirectoryIndex") == ("index.html", "index.htm", "extra.html")
    assert config.get("DirectorySlash") is False
    assert config.get("DirectoryIndexRedirect") == 301
    assert config.get("FallbackResource") == "/index.php"


def test_dir_defaults_and_disabled(load_with) -> None:
    config = load_with(
        ("dir",), "<Directory /srv>\nDirectoryIndex a.html\nDirectoryIndex disabled\n</Directory>\n"
    )
    assert config.get("DirectoryIndex") == ("index.html",)
    assert config.get("DirectorySlash") is True
    assert config.sections[0].settings.get("DirectoryIndex") == ()


def test_alias(load_with) -> None:
    config = load_with(
        ("alias",),
        "Alias /icons/ /usr/share/icons/\nScriptAlias /cgi-bin/ /usr/lib/cgi-bin/\n"
        "ScriptAliasMatch ^/run/(.*) /srv/run/$1\n"
        "Redirect permanent /old http://example.com/new\nRedirect gone /dead\n"
        "RedirectMatch 301 ^/a(.*) /b$1\nRedirect /tmp /elsewhere\n"
        "<Location /x>\nAlias /srv/x\nRedirect 307 /y\n</Location>\n",
    )
    aliases = config.get("Alias")
    assert [(a.fake, a.real, a.handler) for a in aliases[:2]] == [
        ("/icons/", "/usr/share/icons/", None),
        ("/cgi-bin/", "/usr/lib/cgi-bin/", "cgi-script"),
    ]
    assert aliases[2].regex is not None and aliases[2].handler == "cgi-script"
    redirects = config.get("Redirect")
    assert [(r.status, r.fake, r.url) for r in redirects] == [
        (301, "/old", "http://example.com/new"),
        (410, "/dead", None),
        (301, "^/a(.*)", "/b$1"),
        (302, "/tmp", "/elsewhere"),
    ]
    location = config.sections[0].settings
    assert location.get("Alias")[0].expression and location.get("Alias")[0].real == "/srv/x"
    assert location.get("Redirect")[0].expression and location.get("Redirect")[0].status == 307


def test_alias_overlap_warns(load_with, conf_path) -> None:
    config = load_with(("alias",), "Alias / /srv/\nAlias /icons/ /x/\n")
    assert config.warnings == (
        f"AH00671: The Alias directive in {conf_path} at line 4 will probably never match "
        "because it overlaps an earlier Alias.",
    )


def test_authz_core(load_with) -> None:
    config = load_with(
        ("authz_core", "authz_host"),
        "<Directory />\nRequire all denied\nAuthzSendForbiddenOnFailure On\n</Directory>\n"
        "<Location /a>\n<RequireAll>\nRequire ip 10.0.0.0/8 192.0.2.1\nRequire not env BLOCK\n"
        "<RequireNone>\nRequire host bad.example\n</RequireNone>\n</RequireAll>\n</Location>\n",
    )
    directory, location = config.sections
    (required,) = directory.settings.get("Require")
    assert (required.provider.name, required.args, required.negate) == ("all", "denied", False)
    assert directory.settings.get("AuthzSendForbiddenOnFailure") is True
    (require_all,) = location.sections
    assert require_all.kind == "RequireAll" and require_all.value.logic == "and"
    first, second = require_all.settings.get("Require")
    assert first.args == "10.0.0.0/8 192.0.2.1"
    assert [str(network) for network in first.parsed] == ["10.0.0.0/8", "192.0.2.1/32"]
    assert (second.provider.name, second.negate) == ("env", True)
    assert require_all.sections[0].value.negate


def test_access_compat(load_with) -> None:
    config = load_with(
        ("access_compat",),
        "<Directory />\nOrder Deny,Allow\nDeny from all\n"
        "Allow from 10.0.0.0/8 .example.com env=LOCAL env=!REMOTE 192.168 ::1\nSatisfy Any\n"
        "</Directory>\n",
    )
    settings = config.sections[0].settings
    assert settings.get("Order") == "deny,allow"
    assert settings.get("Satisfy") == "any"
    assert [rule.kind for rule in settings.get("Deny")] == ["all"]
    rules = settings.get("Allow")
    assert [rule.kind for rule in rules] == ["ip", "host", "env", "nenv", "ip", "ip"]
    assert str(rules[0].network) == "10.0.0.0/8" and str(rules[4].network) == "192.168.0.0/16"
    assert rules[3].value == "REMOTE"


def test_headers(load_with) -> None:
    config = load_with(
        ("headers",),
        'Header always set X-Frame-Options "SAMEORIGIN"\nHeader unset ETag\n'
        "Header edit Location ^http: https:\nRequestHeader set X-Proto https env=HTTPS\n"
        'Header set X-Time "t=%D %{UNIQUE_ID}e 100%%" early\nHeader echo ^X-\n'
        'Header setifempty Cache-Control no-cache "expr=%{REQUEST_STATUS} == 200"\n',
    )
    entries = config.get("Header")
    assert [(e.condition, e.action, e.header) for e in entries] == [
        ("always", "set", "X-Frame-Options"),
        ("onsuccess", "unset", "ETag"),
        ("onsuccess", "edit", "Location"),
        ("onsuccess", "set", "X-Time"),
        ("onsuccess", "echo", "^X-"),
        ("onsuccess", "setifempty", "Cache-Control"),
    ]
    assert entries[2].replacement == "https:" and entries[2].regex is not None
    assert entries[3].early and entries[5].when.startswith("expr=")
    (request,) = config.get("RequestHeader")
    assert (request.condition, request.value, request.when) == ("", "https", "env=HTTPS")


def test_setenvif(load_with) -> None:
    config = load_with(
        ("setenvif",),
        'SetEnvIf Request_URI "\\.gif$" image\nSetEnvIfNoCase User-Agent "^curl" tool=yes !other\n'
        'BrowserMatch "MSIE 4\\.0b2;" nokeepalive\nSetEnvIfExpr "%{REQUEST_URI} =~ /x/" isx\n'
        "SetEnvIf ^X-.*$ . hasx\n",
    )
    rules = config.get("SetEnvIf")
    assert [rule.attribute for rule in rules] == [
        "Request_URI",
        "User-Agent",
        "User-Agent",
        "",
        "^X-.*$",
    ]
    assert rules[0].regex is not None
    assert rules[1].nocase and [(v.name, v.value) for v in rules[1].variables] == [
        ("tool", "yes"),
        ("other", None),
    ]
    assert rules[2].regex is None and rules[2].pattern == "MSIE 4.0b2;"  # plain: unescaped
    assert rules[3].expression == "%{REQUEST_URI} =~ /x/"
    assert rules[4].attribute_regex is not None


def test_env(load_with, conf_path, monkeypatch) -> None:
    monkeypatch.setenv("PYHTTPD_TEST_PASSED", "yes")
    monkeypatch.delenv("PYHTTPD_TEST_MISSING", raising=False)
    config = load_with(
        ("env",),
        "SetEnv A 1\nSetEnv B\nUnsetEnv C D\nPassEnv PYHTTPD_TEST_PASSED PYHTTPD_TEST_MISSING\n"
        "SetEnv E=1\n",
    )
    assert [(op.name, op.value) for op in config.get("Env")] == [
        ("A", "1"),
        ("B", ""),
        ("C", None),
        ("D", None),
        ("PYHTTPD_TEST_PASSED", "yes"),
        ("E=1", ""),
    ]
    assert config.warnings == (
        "AH01506: PassEnv variable PYHTTPD_TEST_MISSING was undefined",
        "AH10032: Spurious usage of '=' in an environment variable name. 'SetEnv E 1' expected "
        "instead?",
    )


def test_expires(load_with) -> None:
    config = load_with(
        ("expires",),
        'ExpiresActive On\nExpiresByType text/html "access plus 1 month"\n'
        "ExpiresByType image/png A3600\n"
        'ExpiresDefault "modification plus 2 hours 30 minutes"\n',
    )
    assert config.get("ExpiresActive") is True
    assert [(e.mime_type, str(e.code)) for e in config.get("ExpiresByType")] == [
        ("text/html", "A2592000"),
        ("image/png", "A3600"),
    ]
    assert str(config.get("ExpiresDefault")) == "M9000"


def test_remoteip(load_with) -> None:
    config = load_with(
        ("remoteip",),
        "RemoteIPHeader X-Forwarded-For\n"
        "RemoteIPTrustedProxy 10.0.0.0/8 192.0.2.1 2001:db8::/32 proxy.example.com 172.16\n"
        "RemoteIPInternalProxy 127.0.0.1 10.0.0.0/255.255.0.0\n",
    )
    assert config.get("RemoteIPHeader") == "X-Forwarded-For"
    proxies = config.get("RemoteIPProxy")
    assert [str(p.network) if p.network else p.host for p in proxies] == [
        "10.0.0.0/8",
        "192.0.2.1/32",
        "2001:db8::/32",
        "proxy.example.com",
        "172.16.0.0/16",
        "127.0.0.1/32",
        "10.0.0.0/16",
    ]
    assert [p.internal for p in proxies] == [False] * 5 + [True] * 2


def test_autoindex(load_with) -> None:
    config = load_with(
        ("autoindex",),
        "IndexOptions FancyIndexing HTMLTable NameWidth=* Charset=UTF-8 IconWidth=16\n"
        "IndexOptions +FoldersFirst -VersionSort -NameWidth\nIndexOrderDefault descending date\n"
        "IndexIgnore .??* *~\nAddIcon (IMG,/icons/image.gif) .png .jpg\n"
        'AddDescription "GZIP file" .gz\nHeaderName HEADER.html\nDefaultIcon /icons/unknown.gif\n',
    )
    first, second = config.get("IndexOptions")
    assert [(o.action, o.name, o.value) for o in first] == [
        ("", "FancyIndexing", None),
        ("", "HTMLTable", None),
        ("", "NameWidth", "*"),
        ("", "Charset", "UTF-8"),
        ("", "IconWidth", "16"),
    ]
    assert [(o.action, o.name) for o in second] == [
        ("+", "FoldersFirst"),
        ("-", "VersionSort"),
        ("-", "NameWidth"),
    ]
    assert config.get("IndexOrderDefault") == ("Descending", "Date")
    assert config.get("IndexIgnore") == (".??*", "*~")
    assert [(i.data, i.pattern) for i in config.get("AddIcon")] == [
        ("(IMG,/icons/image.gif)", ".png"),
        ("(IMG,/icons/image.gif)", ".jpg"),
    ]


def test_status(load_with) -> None:
    assert extended_status(load_with(("status",), ""))  # loading mod_status turns it On
    assert not extended_status(load_with(("env",), ""))  # core's own default: Off
    assert extended_status(load_with(("env",), "ExtendedStatus On\n"))
    config = load_with(("status",), "ExtendedStatus Off\nSeeRequestTail On\n")
    assert not extended_status(config) and config.get("SeeRequestTail") is True


def test_reqtimeout(load_with) -> None:
    from pyhttpd.modules.mod_reqtimeout import DEFAULT, Stage

    assert load_with(("reqtimeout",), "").get("RequestReadTimeout") == DEFAULT
    config = load_with(
        ("reqtimeout",),
        "RequestReadTimeout header=10-20,MinRate=100 body=30\nRequestReadTimeout handshake=5\n",
    )
    value = config.get("RequestReadTimeout")
    assert value.header == Stage(10, 20, 100)
    assert value.body == Stage(30)
    assert value.handshake == Stage(5)


def test_deflate_and_filter(load_with) -> None:
    config = load_with(
        ("filter", "deflate"),
        "DeflateCompressionLevel 9\nDeflateBufferSize 16384\nDeflateFilterNote ratio\n"
        "DeflateFilterNote Input instream\n"
        "AddOutputFilterByType DEFLATE;INCLUDES text/html text/plain\n"
        "FilterDeclare gzip CONTENT_SET\n"
        'FilterProvider gzip DEFLATE "%{CONTENT_TYPE} =~ m#^text/#"\nFilterChain gzip =other\n',
    )
    assert config.get("DeflateCompressionLevel") == 9
    assert config.get("DeflateBufferSize") == 16384
    assert config.get("DeflateFilterNote") == (("ratio", "ratio"), ("input", "instream"))
    (by_type,) = config.get("AddOutputFilterByType")
    assert by_type.filters == ("DEFLATE", "INCLUDES")
    assert by_type.types == ("text/html", "text/plain")
    assert config.get("FilterDeclare")[0].type == "CONTENT_SET"
    assert [(s.action, s.name) for s in config.get("FilterChain")] == [
        ("+", "gzip"),
        ("=", "other"),
    ]


def test_deflate_defaults(load_with) -> None:
    config = load_with(("deflate",), "")
    assert config.get("DeflateBufferSize") == 8096
    assert config.get("DeflateCompressionLevel") == -1


def test_authz_host_has_no_directives() -> None:
    module = default_registry().find("authz_host_module")
    assert module is not None and module.directives == ()


@pytest.mark.parametrize("name", MODULES)
def test_module_record(name: str) -> None:
    module = default_registry().find(f"{name}_module")
    assert module is not None
    assert module.name == f"{name}_module"
    assert module.source == f"mod_{name}.c"
    assert module.description
    for spec in module.directives:
        assert spec.help, spec.name
        assert spec.module == module.source


# --- mods-available ------------------------------------------------------------------------------

_LOAD_LINE = re.compile(r"^LoadModule\s+(\S+)\s+(\S+)\s*$", re.MULTILINE)


def load_lines(path: Path) -> list[tuple[str, str]]:
    return _LOAD_LINE.findall(path.read_text())


def test_every_module_has_a_load_file() -> None:
    names = {path.stem for path in AVAILABLE.glob("*.load")}
    assert names >= {*MODULES, "mpm_event", "mpm_worker", "mpm_prefork"}


@pytest.mark.parametrize("path", sorted(AVAILABLE.glob("*.load")), ids=lambda p: p.name)
def test_load_file_names_a_known_module(path: Path) -> None:
    (pair,) = load_lines(path)
    name, shared_object = pair
    assert default_registry().find(name) is not None
    assert name == f"{path.stem}_module"
    assert shared_object == f"/usr/lib/apache2/modules/mod_{path.stem}.so"


@pytest.mark.parametrize(
    ("mpm", "conflicts"),
    [
        ("mpm_event", ["mpm_worker", "mpm_prefork"]),
        ("mpm_worker", ["mpm_event", "mpm_prefork"]),
        ("mpm_prefork", ["mpm_event", "mpm_worker"]),
    ],
)
def test_mpm_load_files_conflict(mpm: str, conflicts: list[str]) -> None:
    assert read_headers(AVAILABLE / f"{mpm}.load") == {"Depends": [], "Conflicts": conflicts}


def test_deflate_depends_on_filter() -> None:
    assert read_headers(AVAILABLE / "deflate.load")["Depends"] == ["filter"]


def includes(mpm: str) -> str:
    """Every module's .load but the other MPMs', then every .conf, as Debian's apache2.conf."""
    loads = [
        p
        for p in sorted(AVAILABLE.glob("*.load"))
        if not p.stem.startswith("mpm_") or p.stem == mpm
    ]
    confs = sorted(AVAILABLE.glob("*.conf"))
    return "".join(f"Include {path}\n" for path in [*loads, *confs])


@pytest.mark.parametrize("mpm", ["mpm_event", "mpm_worker", "mpm_prefork"])
def test_every_conf_loads(tmp_path: Path, mpm: str) -> None:
    path = tmp_path / "httpd.conf"
    path.write_text(includes(mpm))
    config = load(str(path), str(ROOT), default_registry(), environment={})
    assert config.mpm == mpm.removeprefix("mpm_")
    assert config.warnings == ()
    assert config.get("MaxRequestWorkers") == 150
    assert config.get("StartServers") == (5 if mpm == "mpm_prefork" else 2)
    assert config.get("DirectoryIndex")[0] == "index.html"
    assert config.get("TypesConfig") == str(ROOT / "conf" / "mime.types")
    assert extended_status(config)
    (status,) = config.sections
    assert status.args == ("/server-status",)
    assert status.settings.get("SetHandler") == "server-status"


def test_mime_types_table() -> None:
    """conf/mime.types: `type ext...` lines, each extension mapped once, the common ones there."""
    mapping: dict[str, str] = {}
    for line in (ROOT / "conf" / "mime.types").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        media_type, *extensions = line.split()
        assert re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", media_type), line
        for extension in extensions:
            assert extension not in mapping, extension
            mapping[extension] = media_type
    expected = {
        "html": "text/html", "css": "text/css", "js": "application/javascript",
        "json": "application/json", "png": "image/png", "jpg": "image/jpeg",
        "svg": "image/svg+xml", "woff2": "font/woff2", "wasm": "application/wasm",
        "pdf": "application/pdf", "mp4": "video/mp4", "txt": "text/plain", "md": "text/markdown",
    }  # fmt: skip
    assert {ext: mapping.get(ext) for ext in expected} == expected
    assert len(set(mapping.values())) >= 140
