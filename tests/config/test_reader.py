"""The read phase: Include, conditional sections, Define and ${VAR}, nesting, LoadModule.

Pure tier: config trees written into tmp_path and loaded with `pyhttpd.config.load`. Read-phase
errors have Apache's one-line shape, `pyhttpd: Syntax error on line N of FILE: reason`; the texts
were checked against Debian's apache2 (which says `apache2:` where we say `pyhttpd:`).
"""

from __future__ import annotations

import pytest

from pyhttpd.config.nodes import IncludedFile
from pyhttpd.errors import ConfigError


def read_error(conf_path: str, line: int, reason: str) -> str:
    return f"pyhttpd: Syntax error on line {line} of {conf_path}: {reason}"


def include_tree(node: IncludedFile | None) -> list[tuple[int, int | None, str]]:
    """(depth, include line, path) for every file read, in reading order."""
    found: list[tuple[int, int | None, str]] = []

    def walk(record: IncludedFile) -> None:
        found.append((record.depth, record.include_line, record.path))
        for child in record.children:
            walk(child)

    if node is not None:
        walk(node)
    return found


# --- Include ------------------------------------------------------------------------------------


def test_include_wildcard_reads_matches_in_sorted_order(load_config, write_file, tmp_path) -> None:
    write_file("conf.d/b.conf", "Define ORDER ${ORDER}b\n")
    write_file("conf.d/a.conf", "Define ORDER a\n")
    write_file("conf.d/c.conf", "Define ORDER ${ORDER}c\n")
    write_file("conf.d/ignored.txt", "Bogus directive\n")
    config = load_config("Include conf.d/*.conf\n")
    assert config.variables["ORDER"] == "abc"
    assert include_tree(config.includes) == [
        (0, None, str(tmp_path / "httpd.conf")),
        (1, 2, str(tmp_path / "conf.d/a.conf")),
        (1, 2, str(tmp_path / "conf.d/b.conf")),
        (1, 2, str(tmp_path / "conf.d/c.conf")),
    ]


def test_include_wildcard_in_a_directory_part(load_config, write_file) -> None:
    write_file("vhosts/one/site.conf", "Define ONE\n")
    write_file("vhosts/two/site.conf", "Define TWO\n")
    config = load_config("Include vhosts/*/*.conf\n")
    assert {"ONE", "TWO"} <= config.defines


def test_include_of_a_directory_reads_every_file_recursively(
    load_config, write_file, tmp_path
) -> None:
    write_file("dir/b.conf", "Define ORDER ${ORDER}b\n")
    write_file("dir/a.conf", "Define ORDER a\n")
    write_file("dir/sub/z.conf", "Define ORDER ${ORDER}z\n")
    config = load_config("Include dir\n")
    assert config.variables["ORDER"] == "abz"
    assert [path for _, _, path in include_tree(config.includes)][1:] == [
        str(tmp_path / "dir/a.conf"),
        str(tmp_path / "dir/b.conf"),
        str(tmp_path / "dir/sub/z.conf"),
    ]


def test_include_path_is_relative_to_server_root_and_nests(
    load_config, write_file, tmp_path
) -> None:
    write_file("n/a.conf", "Include n/b.conf\n")
    write_file("n/b.conf", "ServerAdmin x@y\n\nInclude n/c.conf\n")
    write_file("n/c.conf", "Define DEEP\n")
    config = load_config("ServerName x\nInclude n/a.conf\n")
    assert "DEEP" in config.defines
    assert config.get("ServerAdmin") == "x@y"
    assert include_tree(config.includes) == [
        (0, None, str(tmp_path / "httpd.conf")),
        (1, 3, str(tmp_path / "n/a.conf")),
        (2, 1, str(tmp_path / "n/b.conf")),
        (3, 3, str(tmp_path / "n/c.conf")),
    ]


def test_include_optional_is_silent_when_nothing_matches(load_config, write_file) -> None:
    write_file("conf.d/readme.txt", "not a config\n")
    config = load_config(
        "IncludeOptional conf.d/*.conf\n"
        "IncludeOptional nodir/*.conf\n"
        "IncludeOptional missing.conf\n"
        "IncludeOptional missing-dir\n"
        "ServerAdmin a@b\n"
    )
    assert config.get("ServerAdmin") == "a@b"
    assert config.warnings == ()


def test_include_optional_reads_what_matches(load_config, write_file) -> None:
    write_file("conf.d/a.conf", "Define FOUND\n")
    assert "FOUND" in load_config("IncludeOptional conf.d/*.conf\n").defines


def test_include_of_a_missing_file(load_config, conf_path, tmp_path) -> None:
    missing = tmp_path / "nope.conf"
    with pytest.raises(ConfigError) as raised:
        load_config(f"ServerName x\nInclude {missing}\n")
    assert str(raised.value) == read_error(
        conf_path, 3, f"Could not open configuration file {missing}: No such file or directory"
    )


def test_include_of_a_missing_absolute_file_outside_the_root(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("Include /x/nope.conf\n")
    assert str(raised.value) == read_error(
        conf_path, 2, "Could not open configuration file /x/nope.conf: No such file or directory"
    )


def test_include_wildcard_without_matches_fails(load_config, conf_path, tmp_path) -> None:
    (tmp_path / "conf.d").mkdir()
    with pytest.raises(ConfigError) as raised:
        load_config("Include conf.d/*.conf\n")
    assert str(raised.value) == read_error(
        conf_path,
        2,
        f"Include/IncludeOptional: No matches for the wildcard '*.conf' in "
        f"'{tmp_path / 'conf.d'}', failing",
    )


def test_include_wildcard_in_a_missing_directory_fails(load_config, conf_path, tmp_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("Include nope/*.conf\n")
    assert str(raised.value) == read_error(
        conf_path,
        2,
        f"Include/IncludeOptional: Could not open directory {tmp_path / 'nope'}: "
        "No such file or directory",
    )


def test_error_inside_an_included_file_names_that_file(load_config, write_file) -> None:
    included = write_file("conf.d/bad.conf", "\n</Directory>\n")
    with pytest.raises(ConfigError) as raised:
        load_config("Include conf.d/*.conf\n")
    assert str(raised.value) == read_error(
        str(included), 2, "</Directory> without matching <Directory> section"
    )


def test_processing_error_inside_an_included_file_names_that_file(load_config, write_file) -> None:
    included = write_file("conf.d/bad.conf", "ServerAdmin a\nBogus\n")
    with pytest.raises(ConfigError) as raised:
        load_config("Include conf.d/bad.conf\n")
    assert str(raised.value) == (
        f"AH00526: Syntax error on line 2 of {included}:\n"
        "Invalid command 'Bogus', perhaps misspelled or defined by a module not included in the "
        "server configuration"
    )


# --- <IfModule> ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ("mpm_event_module", True),
        ("event.c", True),
        ("mod_log_config.c", True),  # compiled in
        ("log_config_module", True),
        ("core.c", True),
        ("!event.c", False),
        ("!prefork.c", True),
        ("prefork.c", False),
        ("mpm_prefork_module", False),
        ("mod_mpm_event.c", False),  # the source file is event.c
        ("!mod_mpm_event.c", True),
        ("mod_rewrite.c", False),
    ],
)
def test_ifmodule(load_config, test: str, expected: bool) -> None:
    config = load_config(f"<IfModule {test}>\nDefine HIT\n</IfModule>\n")
    assert ("HIT" in config.defines) is expected


def test_ifmodule_nests(load_config) -> None:
    config = load_config(
        "<IfModule event.c>\n<IfModule !worker.c>\nDefine INNER\n</IfModule>\n</IfModule>\n"
    )
    assert "INNER" in config.defines


def test_ifmodule_is_decided_as_the_line_is_read(load_config) -> None:
    """A module loaded below the section does not count yet."""
    config = load_config(
        "<IfModule event.c>\nDefine EARLY\n</IfModule>\n"
        "LoadModule mpm_event_module modules/mod_mpm_event.so\n"
        "<IfModule event.c>\nDefine LATE\n</IfModule>\n",
        mpm=None,
    )
    assert "EARLY" not in config.defines
    assert "LATE" in config.defines


def test_unknown_directive_inside_a_false_ifmodule_is_skipped(load_config) -> None:
    config = load_config(
        "<IfModule mod_nope.c>\nNoSuchDirective at all\n<Directory /x>\nBogus\n</Directory>\n"
        "</IfModule>\nServerAdmin a@b\n"
    )
    assert config.get("ServerAdmin") == "a@b"
    assert config.sections == ()


def test_mpm_directive_of_another_mpm_inside_its_ifmodule_is_skipped(load_config) -> None:
    config = load_config("<IfModule mpm_prefork_module>\nMinSpareServers 5\n</IfModule>\n")
    assert config.mpm == "event"


def test_ifmodule_missing_closing_bracket(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("<IfModule event.c\n</IfModule>\n")
    assert str(raised.value) == read_error(conf_path, 2, "<IfModule> directive missing closing '>'")


# --- <IfDefine>, Define, UnDefine, ${VAR} -------------------------------------------------------


def test_ifdefine_with_command_line_defines(load_config) -> None:
    config = load_config(
        "<IfDefine FOO>\nDefine SAW_FOO\n</IfDefine>\n"
        "<IfDefine !FOO>\nDefine NOT_FOO\n</IfDefine>\n"
        "<IfDefine BAR>\nDefine SAW_BAR\n</IfDefine>\n",
        defines=("FOO",),
    )
    assert "SAW_FOO" in config.defines
    assert "NOT_FOO" not in config.defines
    assert "SAW_BAR" not in config.defines


def test_ifdefine_sees_a_define_from_earlier_in_the_files(load_config) -> None:
    config = load_config(
        "<IfDefine LATER>\nDefine TOO_EARLY\n</IfDefine>\n"
        "Define LATER\n"
        "<IfDefine LATER>\nDefine SEEN\n</IfDefine>\n"
    )
    assert "TOO_EARLY" not in config.defines
    assert "SEEN" in config.defines


def test_variable_from_define(load_config) -> None:
    config = load_config("Define ADMIN webmaster@example.com\nServerAdmin ${ADMIN}\n")
    assert config.get("ServerAdmin") == "webmaster@example.com"
    assert config.variables == {"ADMIN": "webmaster@example.com"}
    assert config.warnings == ()


def test_variable_is_expanded_before_the_line_is_split(load_config, conf_path) -> None:
    assert load_config('Define TWO "a b"\nServerAdmin "${TWO}"\n').get("ServerAdmin") == "a b"
    with pytest.raises(ConfigError) as raised:
        load_config('Define TWO "a b"\nServerAdmin ${TWO}\n')
    assert str(raised.value) == (
        f"AH00526: Syntax error on line 3 of {conf_path}:\n"
        "ServerAdmin takes one argument, The email address of the server administrator"
    )


def test_variable_from_the_environment(load_config) -> None:
    config = load_config("ServerAdmin ${ADMIN}\n", environment={"ADMIN": "env@example.com"})
    assert config.get("ServerAdmin") == "env@example.com"
    assert config.warnings == ()


def test_define_wins_over_the_environment(load_config) -> None:
    config = load_config(
        "Define ADMIN def@example.com\nServerAdmin ${ADMIN}\n",
        environment={"ADMIN": "env@example.com"},
    )
    assert config.get("ServerAdmin") == "def@example.com"


def test_undefined_variable_stays_literal_with_a_warning(load_config) -> None:
    config = load_config("ServerAdmin ${NOPE}\n")
    assert config.get("ServerAdmin") == "${NOPE}"
    assert config.warnings == ("AH00111: Config variable ${NOPE} is not defined",)


def test_undefined_variable_with_a_colon_gives_no_warning(load_config) -> None:
    config = load_config("ServerAdmin ${a:b}\n")
    assert config.get("ServerAdmin") == "${a:b}"
    assert config.warnings == ()


def test_define_name_with_a_colon_is_an_error(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("Define a:b\n")
    assert str(raised.value) == read_error(conf_path, 2, "Variable name must not contain ':'")


def test_define_with_too_many_arguments(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("Define a b c\n")
    assert str(raised.value) == read_error(
        conf_path,
        2,
        "Define takes 1-2 arguments, Define a variable, optionally to a value.  "
        "Same as passing -D to the command line.",
    )


def test_undefine_removes_the_name_and_its_value(load_config) -> None:
    config = load_config(
        "Define GONE value\nUnDefine GONE\n"
        "<IfDefine GONE>\nDefine STILL_THERE\n</IfDefine>\n"
        "ServerAdmin ${GONE}\n"
    )
    assert "GONE" not in config.defines
    assert "STILL_THERE" not in config.defines
    assert config.get("ServerAdmin") == "${GONE}"
    assert config.warnings == ("AH00111: Config variable ${GONE} is not defined",)


def test_undefine_removes_a_command_line_define(load_config) -> None:
    config = load_config("UnDefine FOO\n", defines=("FOO",))
    assert "FOO" not in config.defines


def test_undefine_without_a_name(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("UnDefine\n")
    assert str(raised.value) == read_error(
        conf_path,
        2,
        "UnDefine takes one argument, Undefine the existence of a variable. Undo a Define.",
    )


# --- <IfVersion>, <IfFile>, <IfDirective>, <IfSection> ------------------------------------------


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        (">= 2.4", True),
        ("< 2.0", False),
        ("> 2.2.0", True),
        ("2.4", False),  # = compares the whole version: 2.4.0
        ("!< 2.4", True),
        ("~ ^2\\.4\\.", True),
        ("/^2\\.4/", True),
        ("< 3", True),
    ],
)
def test_ifversion(load_config, test: str, expected: bool) -> None:
    config = load_config(f"<IfVersion {test}>\nDefine HIT\n</IfVersion>\n")
    assert ("HIT" in config.defines) is expected


def test_iffile(load_config, write_file) -> None:
    write_file("present.txt", "")
    config = load_config(
        "<IfFile present.txt>\nDefine RELATIVE\n</IfFile>\n"
        "<IfFile absent.txt>\nDefine ABSENT\n</IfFile>\n"
        "<IfFile !/nonexistent/file>\nDefine NEGATED\n</IfFile>\n"
    )
    assert {"RELATIVE", "NEGATED"} <= config.defines
    assert "ABSENT" not in config.defines


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ("Listen", True),
        ("listen", True),
        ("Define", True),
        ("ThreadsPerChild", True),  # event is loaded above
        ("MinSpareServers", False),  # prefork's
        ("!Listen", False),
        ("NoSuchDirective", False),
    ],
)
def test_ifdirective(load_config, test: str, expected: bool) -> None:
    config = load_config(f"<IfDirective {test}>\nDefine HIT\n</IfDirective>\n")
    assert ("HIT" in config.defines) is expected


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ("VirtualHost", True),
        ("virtualhost", True),
        ("Directory", True),
        ("IfVersion", True),
        ("<VirtualHost", False),  # Apache prepends its own '<'
        ("NoSuchSection", False),
        ("!NoSuchSection", True),
    ],
)
def test_ifsection(load_config, test: str, expected: bool) -> None:
    config = load_config(f"<IfSection {test}>\nDefine HIT\n</IfSection>\n")
    assert ("HIT" in config.defines) is expected


# --- <If>, <ElseIf>, <Else> ---------------------------------------------------------------------


def test_if_elseif_else_are_kept_as_sections_with_their_expression(load_config, conf_path) -> None:
    config = load_config(
        "<If \"%{HTTP_HOST} == 'example.com'\">\nServerSignature Off\n</If>\n"
        "<ElseIf \"-f '/etc/hosts'\">\n</ElseIf>\n"
        "<Else>\nServerSignature On\n</Else>\n"
    )
    kinds = [(s.kind, s.value, s.file, s.line) for s in config.sections]
    assert kinds == [
        ("If", "%{HTTP_HOST} == 'example.com'", conf_path, 2),
        ("ElseIf", "-f '/etc/hosts'", conf_path, 5),
        ("Else", "", conf_path, 7),
    ]
    assert config.sections[0].settings["ServerSignature"] == "off"
    assert config.sections[2].settings["ServerSignature"] == "on"


# --- nesting errors -----------------------------------------------------------------------------


def test_a_bad_if_expression_refuses_to_start_as_in_apache(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config('<If "-f /etc/hosts">\n</If>\n')  # Apache: unquoted path is a regex token
    assert str(raised.value).startswith(f"AH00526: Syntax error on line 2 of {conf_path}:\n")
    assert "Cannot parse condition clause" in str(raised.value)


def test_mismatched_closing_tag(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("<Directory /a>\n</Files>\n")
    assert str(raised.value) == read_error(conf_path, 3, "Expected </Directory> but saw </Files>")


def test_mismatched_closing_tag_in_a_nested_section(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("<Directory /a>\n<Files x>\n</Directory>\n")
    assert str(raised.value) == read_error(conf_path, 4, "Expected </Files> but saw </Directory>")


def test_stray_closing_tag(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("ServerName x\n</IfModule>\n")
    assert str(raised.value) == read_error(
        conf_path, 3, "</IfModule> without matching <IfModule> section"
    )


def test_unclosed_directory_at_end_of_file(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("ServerName x\n<Directory /a>\nOptions None\n")
    assert str(raised.value) == read_error(
        conf_path, 3, f"{conf_path}:3: <Directory> was not closed."
    )


def test_unclosed_virtualhost_at_end_of_file(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("<VirtualHost *:80>\n")
    assert str(raised.value) == read_error(
        conf_path, 2, f"{conf_path}:2: <VirtualHost> was not closed."
    )


def test_false_ifmodule_left_open(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("ServerName x\n<IfModule nope_module>\nDefine X\n")
    assert str(raised.value) == read_error(
        conf_path, 3, "Expected </IfModule> before end of configuration"
    )


def test_false_section_still_checks_its_tag_nesting(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("<IfModule nope_module>\n<Directory /a>\n</Files>\n</IfModule>\n")
    assert str(raised.value) == read_error(conf_path, 4, "Expected </Directory> but saw </Files>")


def test_true_ifmodule_left_open_is_accepted(load_config) -> None:
    config = load_config("<IfModule event.c>\nServerAdmin a@b\n")
    assert config.get("ServerAdmin") == "a@b"


def test_true_ifdefine_left_open_is_accepted(load_config) -> None:
    config = load_config("<IfDefine FOO>\nServerAdmin a@b\n", defines=("FOO",))
    assert config.get("ServerAdmin") == "a@b"


# --- LoadModule ---------------------------------------------------------------------------------


def test_loadmodule_of_an_unknown_module_names_it(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("LoadModule nope_module modules/mod_nope.so\n")
    message = str(raised.value)
    assert message.startswith(
        f"pyhttpd: Syntax error on line 2 of {conf_path}: "
        "Cannot load modules/mod_nope.so into server: "
    )
    assert "nope_module" in message


def test_loadmodule_twice_is_a_warning(load_config) -> None:
    config = load_config("LoadModule mpm_event_module modules/mod_mpm_event.so\n")
    assert config.warnings == ("AH01574: module mpm_event_module is already loaded, skipping",)
    assert [m.name for m in config.modules].count("mpm_event_module") == 1


def test_loadmodule_of_a_static_module_is_a_warning(load_config) -> None:
    config = load_config("LoadModule log_config_module modules/mod_log_config.so\n")
    assert config.warnings == ("AH01574: module log_config_module is already loaded, skipping",)


def test_loadmodule_accepts_apache_paths(load_config) -> None:
    config = load_config(
        "LoadModule mpm_worker_module /usr/lib/apache2/modules/mod_mpm_worker.so\n", mpm=None
    )
    assert config.mpm == "worker"
    loaded = [m for m in config.modules if m.name == "mpm_worker_module"]
    assert [(m.path, m.is_static) for m in loaded] == [
        ("/usr/lib/apache2/modules/mod_mpm_worker.so", False)
    ]


def test_loadmodule_remembers_file_and_line(load_config, conf_path) -> None:
    config = load_config("ServerName x\n")
    event = next(m for m in config.modules if m.name == "mpm_event_module")
    assert (event.file, event.line) == (conf_path, 1)


def test_loadmodule_with_one_argument(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("LoadModule nope_module\n")
    assert str(raised.value) == read_error(
        conf_path,
        2,
        "LoadModule takes two arguments, a module name and the name of a shared object file to "
        "load it from",
    )


# --- -C / -c text -------------------------------------------------------------------------------


def test_before_and_after_text_are_read_around_the_file(load_config) -> None:
    config = load_config(
        "Define ORDER ${ORDER}-file\n",
        before="Define ORDER before",
        after="Define ORDER ${ORDER}-after",
    )
    assert config.variables["ORDER"] == "before-file-after"


def test_error_in_after_text_is_reported_for_the_directives(load_config) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("ServerName x\n", after="Bogus")
    assert str(raised.value) == (
        "AH00526: Syntax error on line 1 of -c/-C directives:\n"
        "Invalid command 'Bogus', perhaps misspelled or defined by a module not included in the "
        "server configuration"
    )
