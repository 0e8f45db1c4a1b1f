"""Pure tier: the Options resolver, the authorization tree and its merge, address matching,
the authz providers, and .htaccess parsing under AllowOverride.

Expected results follow Apache 2.4's core.c, mod_authz_core.c, mod_authz_host.c and config.c;
the server-tier twins are in tests/modules/test_access_hooks.py.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from types import MethodType, SimpleNamespace
from typing import Any

import pytest

from pyhttpd.config import ServerConfig, load
from pyhttpd.config.htaccess import HtaccessError, read_access_file
from pyhttpd.errorlog import ErrorLog
from pyhttpd.http.authz import (
    LAYERS_NOTE,
    AuthzBlock,
    AuthzConfig,
    AuthzRule,
    AuthzStatus,
    MethodLimit,
    ProviderError,
    evaluate,
    merge_authz,
)
from pyhttpd.http.netmatch import (
    in_domain,
    in_network,
    subnet,
)
from pyhttpd.http.options import OptionsState, effective_options, resolve
from pyhttpd.http.phases import HookContext, Hooks
from pyhttpd.http.request import Request
from pyhttpd.modules import mod_access_compat, mod_authz_core, mod_authz_host
from pyhttpd.modules.core_values import OptionsLine
from pyhttpd.modules.registry import default_registry

G, D, N = AuthzStatus.GRANTED, AuthzStatus.DENIED, AuthzStatus.NEUTRAL
NO_USER, ERROR = AuthzStatus.DENIED_NO_USER, AuthzStatus.GENERAL_ERROR


# --- Options --------------------------------------------------------------------------------------


def line(text: str) -> OptionsLine:
    words = text.split()
    relative = bool(words) and words[0][0] in "+-"
    add = frozenset(w.lstrip("+") for w in words if not w.startswith("-"))
    remove = frozenset(w[1:] for w in words if w.startswith("-"))
    return OptionsLine(add - {"None"}, remove, relative)


def options(*sections: list[str]) -> frozenset[str]:
    return resolve([line(text) for text in section] for section in sections).options


def test_options_default_is_follow_symlinks() -> None:
    assert options() == {"FollowSymLinks"}
    assert OptionsState().options == {"FollowSymLinks"}


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ([["Indexes"]], {"Indexes"}),
        ([["None"]], set()),
        ([["+Indexes"]], {"FollowSymLinks", "Indexes"}),
        ([["-FollowSymLinks"]], set()),
        ([["Indexes"], ["+FollowSymLinks"], ["-Indexes"]], {"FollowSymLinks"}),
        ([["+Indexes"], ["ExecCGI"]], {"ExecCGI"}),
        ([["Indexes MultiViews"], ["-MultiViews +ExecCGI"]], {"Indexes", "ExecCGI"}),
        ([["-FollowSymLinks"], ["+SymLinksIfOwnerMatch"]], {"SymLinksIfOwnerMatch"}),
        ([["Indexes", "+ExecCGI"]], {"Indexes", "ExecCGI"}),
        # Apache's quirk: an absolute line keeps the section's earlier +adds for later sections.
        ([["+Indexes", "FollowSymLinks"], ["+ExecCGI"]], {"FollowSymLinks", "Indexes", "ExecCGI"}),
    ],
)
def test_options_merge_as_apache(sections: list[list[str]], expected: set[str]) -> None:
    assert options(*sections) == expected


def test_effective_options_reads_merged_per_dir_lines() -> None:
    per_dir = {"Options": (line("Indexes"), line("+FollowSymLinks"), line("-Indexes"))}
    assert effective_options(per_dir) == {"FollowSymLinks"}
    assert effective_options({}) == {"FollowSymLinks"}


# --- the authorization tree -----------------------------------------------------------------------


def rule(name: str, negate: bool = False, limit: MethodLimit | None = None) -> AuthzRule:
    return AuthzRule(name, "", negate, limit)


def run(node: AuthzRule | AuthzBlock, method: str = "GET") -> AuthzStatus:
    answers = {"yes": G, "no": D, "none": N, "user": NO_USER, "error": ERROR}
    return evaluate(node, method, lambda r: answers[r.provider])


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (AuthzBlock("or", (rule("no"), rule("yes"))), G),
        (AuthzBlock("or", (rule("no"), rule("no"))), D),
        (AuthzBlock("or", (), limit=None), N),
        (AuthzBlock("and", (rule("yes"), rule("no"))), D),
        (AuthzBlock("and", (rule("yes"), rule("yes"))), G),
        (AuthzBlock("and", (rule("yes"), rule("no", negate=True))), G),
        (AuthzBlock("and", (rule("yes"), rule("yes", negate=True))), D),
        (AuthzBlock("and", (rule("no", negate=True),)), N),
        (AuthzBlock("or", (rule("yes"),), negate=True), D),  # <RequireNone>
        (AuthzBlock("or", (rule("no"),), negate=True), N),
        (AuthzBlock("and", (rule("yes"), rule("user"))), NO_USER),
        (AuthzBlock("and", (rule("user"), rule("no"))), D),
        (AuthzBlock("or", (rule("no"), rule("user"))), NO_USER),
        (AuthzBlock("or", (rule("user"), rule("yes"))), G),
        (AuthzBlock("or", (rule("none"), rule("no"))), D),
        (AuthzBlock("or", (rule("error"), rule("yes"))), ERROR),
    ],
)
def test_evaluate_combines_as_apply_authz_sections(
    block: AuthzBlock, expected: AuthzStatus
) -> None:
    assert run(block) is expected


def test_limited_rules_speak_only_for_their_methods() -> None:
    post = MethodLimit(frozenset({"POST"}))
    block = AuthzBlock("or", (rule("no", limit=post),))
    assert run(block, "POST") is D
    assert run(block, "GET") is G  # the root is checked under "and": no say means granted
    assert run(AuthzBlock("or", (rule("yes"), rule("no", limit=post))), "GET") is G
    get = MethodLimit(frozenset({"GET"}))
    assert run(AuthzBlock("or", (rule("no", limit=get),)), "HEAD") is D
    assert not MethodLimit(frozenset({"GET"}), inverted=True).covers("HEAD")
    assert MethodLimit(frozenset({"GET"}), inverted=True).covers("DELETE")


def test_auth_merging() -> None:
    parent = AuthzConfig(AuthzBlock("or", (rule("no"),)))
    child = AuthzBlock("or", (rule("yes"),))
    assert merge_authz(parent, AuthzConfig(child)).block is child  # Off (unset): replace
    assert merge_authz(parent, AuthzConfig(child, "off")).block is child
    assert merge_authz(parent, AuthzConfig(None, "unset")) is parent  # nothing said: inherit
    anded = merge_authz(parent, AuthzConfig(child, "and"))
    assert anded.block is not None and run(anded.block) is D
    ored = merge_authz(parent, AuthzConfig(child, "or"))
    assert ored.block is not None and run(ored.block) is G
    assert merge_authz(AuthzConfig(), AuthzConfig(child, "and")).block is child
    assert merge_authz(parent, AuthzConfig(None, "or")).block is parent.block


# --- addresses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "mask", "network"),
    [
        ("10.1", None, "10.1.0.0/16"),
        ("10.1.", None, "10.1.0.0/16"),
        ("10", None, "10.0.0.0/8"),
        ("192.168.1.7", None, "192.168.1.7/32"),
        ("10.0.0.0", "8", "10.0.0.0/8"),
        ("10.0.0.0", "255.255.0.0", "10.0.0.0/16"),
        ("2001:db8::", "32", "2001:db8::/32"),
        ("::1", None, "::1/128"),
    ],
)
def test_subnet_parses_apr_forms(address: str, mask: str | None, network: str) -> None:
    assert subnet(address, mask) == ipaddress.ip_network(network)


def test_address_matching() -> None:
    assert in_network("127.0.0.1", subnet("127.0", None))
    assert in_network("::ffff:10.2.3.4", subnet("10.0.0.0", "8"))
    assert not in_network("::1", subnet("127.0.0.0", "8"))
    assert not in_network("11.0.0.1", subnet("10.0.0.0", "8"))
    assert in_domain("example.com", "www.EXAMPLE.com")
    assert in_domain("example.com", "example.com")
    assert not in_domain("example.com", "badexample.com")
    assert in_domain(".com", "x.com") and not in_domain("x.example.com", "example.com")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("", "'require ip' requires an argument"),
        ("foo", "ip address 'foo' appears to be invalid"),
        ("300.1.1.1", "ip address '300.1.1.1' appears to be invalid: The specified IP address "
         "is invalid."),
        ("10.0.0.0/99", "ip address '10.0.0.0/99' appears to be invalid: The specified network "
         "mask is invalid."),
    ],
)  # fmt: skip
def test_require_ip_errors_are_apaches(args: str, message: str) -> None:
    with pytest.raises(ProviderError) as raised:
        mod_authz_host.parse_ip(args)
    assert str(raised.value) == message


def fake_request(client: str = "127.0.0.1", local: str = "127.0.0.1", **kw: Any) -> Any:
    fields: dict[str, Any] = {
        "client": (client, 5000), "local": (local, 80), "method": "GET", "notes": {},
        "environment": {}, "filename": "/srv/x.txt", "uri": "/x.txt", "per_dir": {},
    }  # fmt: skip
    fields.update(kw)
    return SimpleNamespace(**fields)


def test_host_providers() -> None:
    networks = mod_authz_host.parse_ip("10.1 192.0.2.0/24 # a comment")
    assert mod_authz_host.check_ip(fake_request("10.1.2.3"), "", networks) is G
    assert mod_authz_host.check_ip(fake_request("10.2.0.1"), "", networks) is D
    assert mod_authz_host.check_local(fake_request("127.3.4.5"), "", None) is G
    assert mod_authz_host.check_local(fake_request("::1", "::1"), "", None) is G
    assert mod_authz_host.check_local(fake_request("192.0.2.9", "192.0.2.9"), "", None) is G
    assert mod_authz_host.check_local(fake_request("192.0.2.9", "192.0.2.1"), "", None) is D


# --- whole sections, through a loaded configuration -----------------------------------------------


def load_config(tmp_path: Path, text: str, modules: tuple[str, ...] = ()) -> ServerConfig:
    loads = ["LoadModule mpm_event_module modules/mod_mpm_event.so"]
    loads += [f"LoadModule {name}_module modules/mod_{name}.so" for name in modules]
    path = tmp_path / "httpd.conf"
    path.write_text("\n".join(loads) + "\n" + text)
    return load(str(path), str(tmp_path), default_registry(), environment={})


MODULES = ("authz_core", "authz_host", "access_compat", "env")


@pytest.fixture
def registered(tmp_path: Path) -> ErrorLog:
    log = ErrorLog(str(tmp_path / "error_log"))
    config = load_config(tmp_path, "", MODULES)
    for module in (mod_authz_core, mod_authz_host, mod_access_compat):
        module.register(Hooks(), HookContext(config, log))
    return log


def decide(config: ServerConfig, log: ErrorLog, method: str = "GET", **kw: Any) -> int:
    request = fake_request(config=config, method=method, **kw)
    request.error_log = log
    request.log_error = MethodType(Request.log_error, request)  # the real ap_log_rerror
    request.notes[LAYERS_NOTE] = config.sections
    status = mod_access_compat.check_access(request)
    if status >= 100:
        return status
    return mod_authz_core.authorize(request) or 200


@pytest.mark.parametrize(
    ("text", "kw", "expected"),
    [
        ("Require all denied", {}, 403),
        ("Require env LET_IN", {"environment": {"LET_IN": "1"}}, 200),
        ("Require env LET_IN", {}, 403),
        ("<RequireAll>\nRequire all granted\nRequire not env BAD\n</RequireAll>",
         {"environment": {"BAD": ""}}, 403),
        ("Require method POST PUT", {"method": "PUT"}, 200),
        ("Require method GET", {"method": "HEAD"}, 200),
        ("Require all maybe", {}, 500),
        ("Require ip 10.0.0.0/8", {}, 403),
        ("<LimitExcept GET>\nRequire all denied\n</LimitExcept>", {"method": "DELETE"}, 403),
        ("<LimitExcept GET>\nRequire all denied\n</LimitExcept>", {}, 200),
        ("Order allow,deny\nAllow from env=OK", {"environment": {"OK": "1"}}, 200),
        ("Order allow,deny\nAllow from env=!OK", {"environment": {"OK": "1"}}, 403),
        ("<Limit POST>\nDeny from all\n</Limit>", {}, 200),
        ("<Limit POST>\nDeny from all\n</Limit>", {"method": "POST"}, 403),
        ("Order deny,allow\nDeny from 127.0.0.1\nAllow from 127.0.0.0/8", {}, 200),
        ("Order allow,deny\nAllow from 127.0.0.0/8\nDeny from 127.0.0.1", {}, 403),
        ("Order mutual-failure\nAllow from all", {}, 200),
    ],
)  # fmt: skip
def test_section_decisions(
    tmp_path: Path, registered: ErrorLog, text: str, kw: dict[str, Any], expected: int
) -> None:
    config = load_config(tmp_path, f"<Directory />\n{text}\n</Directory>\n", MODULES)
    assert decide(config, registered, **kw) == expected


def test_denial_message_names_the_file_or_the_uri(tmp_path: Path, registered: ErrorLog) -> None:
    config = load_config(tmp_path, "<Location />\nRequire all denied\n</Location>\n", MODULES)
    assert decide(config, registered, filename=None) == 403
    text = (tmp_path / "error_log").read_text()
    assert "[authz_core:error]" in text
    assert "AH01630: client denied by server configuration: uri /x.txt" in text


# --- .htaccess --------------------------------------------------------------------------------


def parse(
    tmp_path: Path, text: str, overrides: set[str], modules: tuple[str, ...] = MODULES
) -> Any:
    config = load_config(tmp_path, "", modules)
    directory = tmp_path / "docs"
    directory.mkdir(exist_ok=True)
    (directory / ".htaccess").write_text(text)
    return read_access_file(config, f"{directory}/", frozenset(overrides))


def test_htaccess_section_holds_its_settings(tmp_path: Path) -> None:
    parsed = parse(tmp_path, "Require all denied\n<Files a>\nRequire all granted\n</Files>\n",
                   {"AuthConfig"})  # fmt: skip
    assert parsed.section.kind == "htaccess"
    (required,) = parsed.section.settings.values["Require"]
    assert required.args == "denied"
    assert [s.kind for s in parsed.section.sections] == ["Files"]


def test_htaccess_absent_is_none(tmp_path: Path) -> None:
    config = load_config(tmp_path, "")
    assert read_access_file(config, f"{tmp_path}/", frozenset({"All"})) is None


@pytest.mark.parametrize(
    ("text", "overrides", "reason"),
    [
        ("Require all denied\n", {"Limit"}, "Require not allowed here"),
        ("Require all denied\n", set(), "Require not allowed here"),
        ("<Files x>\n</Files>\n", set(), "<Files not allowed here"),
        ("<Files x>\nOptions None\n</Files>\n", {"AuthConfig"},
         "Options not allowed in <Files> context"),
        ("AllowOverride All\n", {"AuthConfig", "Limit", "Options", "FileInfo", "Indexes"},
         "AllowOverride not allowed here"),
        ("Bogus 1\n", {"AuthConfig"}, "Invalid command 'Bogus', perhaps misspelled or defined "
         "by a module not included in the server configuration"),
        ("Include /etc/hosts\n", {"AuthConfig"}, "Include not allowed here"),
        ("LoadModule x y\n", {"AuthConfig"}, "LoadModule not allowed here"),
        ("order allow,deny\n", {"AuthConfig"}, "order not allowed here"),
        ("<RequireAll>\nRequire all granted\n", {"AuthConfig"}, "<RequireAll> was not closed."),
    ],
)  # fmt: skip
def test_htaccess_errors_are_apaches(
    tmp_path: Path, text: str, overrides: set[str], reason: str
) -> None:
    with pytest.raises(HtaccessError) as raised:
        parse(tmp_path, text, overrides)
    assert raised.value.status == 500 and raised.value.level == "alert"
    assert raised.value.message.startswith(f"{tmp_path}/docs/.htaccess: ")
    assert raised.value.message.endswith(reason)


def test_htaccess_if_module_and_nonfatal(tmp_path: Path) -> None:
    text = "<IfModule mod_authz_core.c>\nRequire all denied\n</IfModule>\n<IfModule nope.c>\nX\n"
    parsed = parse(tmp_path, text + "</IfModule>\n", {"AuthConfig"})
    assert parsed.section.settings.values["Require"][0].args == "denied"
    parsed = parse(tmp_path, "Options None\nWhatever 1\n", {"AuthConfig", "Nonfatal"})
    assert "Options" not in parsed.section.settings.values
    assert parsed.warnings == (
        "AH02295: Options in .htaccess forbidden by AllowOverride",
        "AH02296: Unknown directive whatever perhaps misspelled or defined by a module not "
        "included in the server configuration",
    )


def test_htaccess_is_cached_until_it_changes(tmp_path: Path) -> None:
    config = load_config(tmp_path, "", MODULES)
    (tmp_path / ".htaccess").write_text("Require all denied\n")
    first = read_access_file(config, f"{tmp_path}/", frozenset({"AuthConfig"}))
    again = read_access_file(config, f"{tmp_path}/", frozenset({"AuthConfig"}))
    assert first is again
    (tmp_path / ".htaccess").write_text("Require all granted\n\n")
    changed = read_access_file(config, f"{tmp_path}/", frozenset({"AuthConfig"}))
    assert changed is not None and changed is not first
    assert changed.section.settings.values["Require"][0].args == "granted"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_htaccess_is_403(tmp_path: Path) -> None:
    (tmp_path / ".htaccess").write_text("Require all denied\n")
    (tmp_path / ".htaccess").chmod(0)
    config = load_config(tmp_path, "")
    with pytest.raises(HtaccessError) as raised:
        read_access_file(config, f"{tmp_path}/", frozenset({"AuthConfig"}))
    assert raised.value.status == 403 and raised.value.tag == "AH00529"
