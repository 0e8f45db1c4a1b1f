"""The processing phase: directive lookup, context, arity, handler errors, MPM count, the tree.

Pure tier through `pyhttpd.config.load`. Handler-phase errors have Apache's two-line AH00526 shape;
every text below was checked against Debian's apache2 -t.
"""

from __future__ import annotations

import pytest

from pyhttpd.errors import ConfigError, StartupError

INVALID = (
    "Invalid command '{}', perhaps misspelled or defined by a module not included in the server "
    "configuration"
)


def ah00526(conf_path: str, line: int, reason: str) -> str:
    return f"AH00526: Syntax error on line {line} of {conf_path}:\n{reason}"


def error_of(load_config, text: str, **kwargs) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config(text, **kwargs)
    return str(raised.value)


# --- unknown directives -------------------------------------------------------------------------


def test_unknown_directive(load_config, conf_path) -> None:
    assert error_of(load_config, "ServerName x\nFoo bar\n") == ah00526(
        conf_path, 3, INVALID.format("Foo")
    )


def test_unknown_directive_keeps_its_spelling(load_config, conf_path) -> None:
    assert error_of(load_config, "fOO\n") == ah00526(conf_path, 2, INVALID.format("fOO"))


def test_line_number_is_the_last_physical_line_of_a_continued_line(load_config, conf_path) -> None:
    assert error_of(load_config, "Foo \\\nbar \\\nbaz\n") == ah00526(
        conf_path, 4, INVALID.format("Foo")
    )


def test_unknown_directive_inside_a_section(load_config, conf_path) -> None:
    assert error_of(load_config, "<Directory /a>\nOptions None\nBogus\n</Directory>\n") == (
        ah00526(conf_path, 4, INVALID.format("Bogus"))
    )


def test_config_error_carries_file_and_line(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("\n\nFoo\n")
    error = raised.value
    assert (error.file, error.line, error.read_phase) == (conf_path, 4, False)
    assert error.reason == INVALID.format("Foo")


def test_mpm_directive_of_an_mpm_not_loaded_is_invalid(load_config, conf_path) -> None:
    assert error_of(load_config, "MinSpareThreads 5\n", mpm="prefork") == ah00526(
        conf_path, 2, INVALID.format("MinSpareThreads")
    )


def test_async_request_worker_factor_under_worker_is_invalid(load_config, conf_path) -> None:
    assert error_of(load_config, "AsyncRequestWorkerFactor 2\n", mpm="worker") == ah00526(
        conf_path, 2, INVALID.format("AsyncRequestWorkerFactor")
    )


def test_prefork_directive_under_event_is_invalid(load_config, conf_path) -> None:
    assert error_of(load_config, "MaxSpareServers 5\n") == ah00526(
        conf_path, 2, INVALID.format("MaxSpareServers")
    )


# --- arity and values ---------------------------------------------------------------------------


@pytest.mark.parametrize("args", ["", " 1 2", ' ""'])
def test_wrong_arity_gives_the_help_text(load_config, conf_path, args: str) -> None:
    assert error_of(load_config, f"StartServers{args}\n") == ah00526(
        conf_path,
        2,
        "StartServers takes one argument, Number of child processes launched at server startup",
    )


def test_wrong_arity_for_threads_per_child(load_config, conf_path) -> None:
    assert error_of(load_config, "ThreadsPerChild\n") == ah00526(
        conf_path, 2, "ThreadsPerChild takes one argument, Number of threads each child creates"
    )


@pytest.mark.parametrize("value", ["maybe", "1", "On Off"])
def test_flag_must_be_on_or_off(load_config, conf_path, value: str) -> None:
    assert error_of(load_config, f"KeepAlive {value}\n") == ah00526(
        conf_path, 2, "KeepAlive must be On or Off"
    )


@pytest.mark.parametrize(("value", "expected"), [("On", True), ("off", False), ("ON", True)])
def test_flag_values(load_config, value: str, expected: bool) -> None:
    assert load_config(f"KeepAlive {value}\n").get("KeepAlive") is expected


def test_start_servers_junk_is_atoi_zero_then_corrected(load_config) -> None:
    config = load_config("StartServers abc\n")
    assert config.get("StartServers") == 1
    assert config.warnings == ("AH00517: WARNING: StartServers of 0 not allowed, increasing to 1.",)


def test_atoi_takes_leading_digits(load_config) -> None:
    assert load_config("StartServers 4abc\n").get("StartServers") == 4


def test_async_request_worker_factor_junk(load_config, conf_path) -> None:
    assert error_of(load_config, "AsyncRequestWorkerFactor junk\n") == ah00526(
        conf_path, 2, "error parsing value"
    )


@pytest.mark.parametrize("value", ["0", "-1"])
def test_async_request_worker_factor_not_positive(load_config, conf_path, value: str) -> None:
    assert error_of(load_config, f"AsyncRequestWorkerFactor {value}\n") == ah00526(
        conf_path, 2, "AsyncRequestWorkerFactor argument must be a positive number"
    )


def test_async_request_worker_factor_fraction(load_config) -> None:
    assert load_config("AsyncRequestWorkerFactor 1.5\n").get("AsyncRequestWorkerFactor") == 1.5


def test_options_mixing_signed_and_unsigned(load_config, conf_path) -> None:
    text = "<Directory /srv>\nOptions +Indexes FollowSymLinks\n</Directory>\n"
    assert error_of(load_config, text) == ah00526(
        conf_path, 3, "Either all Options must start with + or -, or no Option may."
    )


def test_server_alias_outside_a_virtual_host(load_config, conf_path) -> None:
    assert error_of(load_config, "ServerAlias a\n") == ah00526(
        conf_path, 2, "ServerAlias only used in <VirtualHost>"
    )


def test_directory_missing_closing_bracket(load_config, conf_path) -> None:
    assert error_of(load_config, "<Directory /a\n</Directory>\n") == ah00526(
        conf_path, 2, "<Directory> directive missing closing '>'"
    )


# --- contexts -----------------------------------------------------------------------------------


def test_listen_in_a_virtual_host(load_config, conf_path) -> None:
    text = "<VirtualHost *:80>\nListen 80\n</VirtualHost>\n"
    assert error_of(load_config, text) == ah00526(
        conf_path, 3, "Listen cannot occur within <VirtualHost> section"
    )


def test_mpm_directive_in_a_virtual_host(load_config, conf_path) -> None:
    text = "<VirtualHost *:80>\nThreadsPerChild 5\n</VirtualHost>\n"
    assert error_of(load_config, text) == ah00526(
        conf_path, 3, "ThreadsPerChild cannot occur within <VirtualHost> section"
    )


def test_mpm_directive_in_a_true_ifmodule_is_allowed(load_config) -> None:
    config = load_config("<IfModule mpm_event_module>\nThreadsPerChild 32\n</IfModule>\n")
    assert config.get("ThreadsPerChild") == 32


def test_listen_in_a_directory_inside_a_virtual_host(load_config, conf_path) -> None:
    text = "<VirtualHost *:80>\n<Directory /a>\nListen 80\n</Directory>\n</VirtualHost>\n"
    assert error_of(load_config, text) == ah00526(
        conf_path, 4, "Listen not allowed in <Directory> context"
    )


def test_document_root_in_a_directory(load_config, conf_path) -> None:
    text = "<Directory /a>\nDocumentRoot /x\n</Directory>\n"
    assert error_of(load_config, text) == ah00526(
        conf_path, 3, "DocumentRoot not allowed in <Directory> context"
    )


def test_directory_in_a_directory(load_config, conf_path) -> None:
    text = "<Directory /a>\n<Directory /b>\n</Directory>\n</Directory>\n"
    assert error_of(load_config, text) == ah00526(
        conf_path, 3, "<Directory not allowed in <Directory> context"
    )


def test_location_in_a_directory(load_config, conf_path) -> None:
    text = "<Directory />\n<Location /a>\n</Location>\n</Directory>\n"
    assert error_of(load_config, text) == ah00526(
        conf_path, 3, "<Location not allowed in <Directory> context"
    )


def test_virtual_host_in_a_virtual_host(load_config, conf_path) -> None:
    text = "<VirtualHost *:80>\n<VirtualHost *:81>\n</VirtualHost>\n</VirtualHost>\n"
    assert error_of(load_config, text) == ah00526(
        conf_path, 3, "<VirtualHost> cannot occur within <VirtualHost> section"
    )


def test_virtual_host_in_a_directory(load_config, conf_path) -> None:
    text = "<Directory /a>\n<VirtualHost *:80>\n</VirtualHost>\n</Directory>\n"
    assert error_of(load_config, text) == ah00526(
        conf_path, 3, "<VirtualHost not allowed in <Directory> context"
    )


def test_directory_and_files_inside_a_virtual_host_are_allowed(load_config) -> None:
    config = load_config(
        "<VirtualHost *:80>\n<Directory /srv>\n<Files x>\n</Files>\n</Directory>\n"
        "<Files y>\n</Files>\n</VirtualHost>\n"
    )
    vhost = config.vhosts[0]
    assert [(s.kind, s.args) for s in vhost.sections] == [
        ("Directory", ("/srv",)),
        ("Files", ("y",)),
    ]
    assert [(s.kind, s.args) for s in vhost.sections[0].sections] == [("Files", ("x",))]


# --- the MPM count ------------------------------------------------------------------------------


def test_no_mpm_loaded(load_config) -> None:
    with pytest.raises(StartupError) as raised:
        load_config("ServerName x\n", mpm=None)
    assert str(raised.value) == "AH00534: pyhttpd: Configuration error: No MPM loaded."
    assert raised.value.exit_code == 1


def test_more_than_one_mpm_loaded(load_config) -> None:
    with pytest.raises(StartupError) as raised:
        load_config("LoadModule mpm_prefork_module modules/mod_mpm_prefork.so\n")
    assert str(raised.value) == "AH00534: pyhttpd: Configuration error: More than one MPM loaded."


def test_mpm_count_is_checked_before_the_directives_are_processed(load_config) -> None:
    """Apache checks the MPM count right after reading: an unknown directive comes second."""
    with pytest.raises(StartupError):
        load_config("Bogus directive\n", mpm=None)


@pytest.mark.parametrize("mpm", ["prefork", "worker", "event"])
def test_the_loaded_mpm_is_named(load_config, mpm: str) -> None:
    assert load_config("ServerName x\n", mpm=mpm).mpm == mpm


# --- the tree: vhosts, sections, values ---------------------------------------------------------


def test_virtual_hosts_keep_addresses_file_line_and_settings(load_config, conf_path) -> None:
    config = load_config(
        "ServerName main\n"
        "<VirtualHost *:80>\nServerName a.example\nDocumentRoot /srv/a\n</VirtualHost>\n"
        "<VirtualHost 127.0.0.1:8080 [::1]:8080>\nServerName b.example\n</VirtualHost>\n"
    )
    assert [(v.addresses, v.file, v.line, v.server_name) for v in config.vhosts] == [
        (("*:80",), conf_path, 3, "a.example"),
        (("127.0.0.1:8080", "[::1]:8080"), conf_path, 7, "b.example"),
    ]
    assert config.vhosts[0].settings.values["DocumentRoot"] == "/srv/a"
    assert config.get("ServerName") == "main"
    assert config.main.is_set("ServerName")
    assert not config.vhosts[1].settings.is_set("DocumentRoot")


def test_server_alias_collects_names_in_order(load_config) -> None:
    config = load_config(
        "<VirtualHost *:80>\nServerName a\nServerAlias b c\nServerAlias d\n</VirtualHost>\n"
    )
    assert config.vhosts[0].settings["ServerAlias"] == ("b", "c", "d")


def test_sections_keep_kind_args_file_line_and_settings(load_config, conf_path) -> None:
    config = load_config(
        "<Directory /srv/www>\nOptions Indexes\n<Files *.txt>\nServerSignature Off\n</Files>\n"
        "</Directory>\n"
        '<Location "/status">\nSetHandler server-status\n</Location>\n'
        "<LocationMatch ^/api>\n</LocationMatch>\n"
    )
    assert [(s.kind, s.args, s.file, s.line) for s in config.sections] == [
        ("Directory", ("/srv/www",), conf_path, 2),
        ("Location", ("/status",), conf_path, 8),
        ("LocationMatch", ("^/api",), conf_path, 11),
    ]
    directory, location, match = config.sections
    assert directory.value.pattern == "/srv/www/"
    assert [(s.kind, s.line) for s in directory.sections] == [("Files", 4)]
    assert directory.sections[0].settings["ServerSignature"] == "off"
    assert location.settings["SetHandler"] == "server-status"
    assert match.value.regex is not None and match.value.regex.pattern == "^/api"


def test_relative_directory_is_resolved_against_server_root(load_config, tmp_path) -> None:
    config = load_config("<Directory htdocs>\n</Directory>\n")
    assert config.sections[0].value.pattern == f"{tmp_path}/htdocs/"


def test_listen_values_accumulate(load_config) -> None:
    config = load_config("Listen 80\nListen 127.0.0.1:8080\nListen [::1]:443 https\n")
    assert [str(address) for address in config.get("Listen")] == [
        "*:80",
        "127.0.0.1:8080",
        "[::1]:443",
    ]
    assert config.get("Listen")[2].protocol == "https"


def test_unset_directive_falls_back_to_its_default(load_config) -> None:
    config = load_config("ServerName x\n")
    assert config.get("KeepAlive") is True
    assert config.get("ListenBacklog") == 511
    assert not config.main.is_set("KeepAlive")


def test_server_root_and_config_file_are_recorded(load_config, tmp_path, conf_path) -> None:
    config = load_config("ServerName x\n")
    assert config.server_root == str(tmp_path)
    assert config.config_file == conf_path
    assert config.get("ServerRoot") == str(tmp_path)
