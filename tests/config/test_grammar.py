"""The shape of config text: logical lines, comments, quoting, escaping, case (Apache's util.c).

Pure tier: the grammar functions on strings, then a few of the same rules through `load`, where
the exact Apache messages show them. Every expectation was checked against Debian's apache2 -t.
"""

from __future__ import annotations

import pytest

from pyhttpd.config.grammar import (
    LineKind,
    LogicalLine,
    ParsedLine,
    expand_variables,
    logical_lines,
    parse_line,
    split_words,
)
from pyhttpd.errors import ConfigError

SERVER_ADMIN_ARITY = "ServerAdmin takes one argument, The email address of the server administrator"


def lines(text: str) -> list[tuple[str, int]]:
    return [(line.text, line.line) for line in logical_lines(text)]


# --- logical lines ------------------------------------------------------------------------------


def test_blank_lines_and_comments_are_skipped_and_lines_are_stripped() -> None:
    text = "\n   \n# a comment\n   # an indented comment\n  Listen 80  \n\t\n"
    assert lines(text) == [("Listen 80", 5)]


def test_logical_line_type() -> None:
    assert list(logical_lines("A b\n")) == [LogicalLine("A b", 1)]


def test_continuation_keeps_the_next_lines_leading_whitespace() -> None:
    assert lines("x\\\n    y\n") == [("x    y", 2)]


def test_continuation_with_nothing_before_the_backslash_joins_words() -> None:
    assert lines("ServerAdmin ad\\\nmin@x\n") == [("ServerAdmin admin@x", 2)]


def test_continuation_over_several_lines_reports_the_last_physical_line() -> None:
    assert lines("Foo \\\nbar \\\nbaz\nNext\n") == [("Foo bar baz", 3), ("Next", 4)]


def test_continuation_allows_a_carriage_return_after_the_backslash() -> None:
    assert lines("A \\\r\nB\r\n") == [("A B", 2)]


def test_a_space_after_the_backslash_stops_the_continuation() -> None:
    assert lines("ServerAdmin \\ \na@b\n") == [("ServerAdmin \\", 1), ("a@b", 2)]


def test_a_continued_comment_swallows_the_next_line() -> None:
    assert lines("# comment \\\nFoo\nBar\n") == [("Bar", 3)]


def test_a_continued_line_at_end_of_file_is_accepted() -> None:
    assert lines("A\nB \\") == [("A", 1), ("B", 2)]


def test_a_continued_line_at_end_of_file_with_a_final_newline() -> None:
    assert [text for text, _ in lines("B \\\n")] == ["B"]


# --- line kinds ---------------------------------------------------------------------------------


def test_parse_directive_line() -> None:
    assert parse_line("Listen 127.0.0.1:80 http") == ParsedLine(
        LineKind.DIRECTIVE, "Listen", "127.0.0.1:80 http"
    )


def test_parse_opening_tag() -> None:
    assert parse_line("<Directory /srv/www>") == ParsedLine(LineKind.OPEN, "Directory", "/srv/www")


def test_parse_opening_tag_without_closing_bracket() -> None:
    assert parse_line("<Directory /srv/www") == ParsedLine(
        LineKind.OPEN, "Directory", "/srv/www", tag_closed=False
    )


def test_parse_closing_tag() -> None:
    parsed = parse_line("</Directory>")
    assert (parsed.kind, parsed.name) == (LineKind.CLOSE, "Directory")


def test_parse_tag_keeps_the_case_as_written() -> None:
    assert parse_line("<ifmodule event.c>").name == "ifmodule"
    assert parse_line("</IFMODULE>").name == "IFMODULE"


# --- words, quoting and escaping ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("a b\tc", ("a", "b", "c")),
        ('"a b"', ("a b",)),
        ("'a b'", ("a b",)),
        ('"a b" c', ("a b", "c")),
        ('"a b"c', ("a b", "c")),  # a quoted word ends at its closing quote
        ('a"b c"', ('a"b', 'c"')),  # a quote inside a word is an ordinary character
        ("a\\\\b", ("a\\b",)),
        ('"a\\\\b"', ("a\\b",)),
        ('"say \\"hi\\""', ('say "hi"',)),
        ("'it\\'s'", ("it's",)),
        ('"it\\\'s"', ("it\\'s",)),  # inside double quotes only \" is an escape
        ("a\\nb", ("a\\nb",)),  # every other backslash stays
        ("C:\\dir", ("C:\\dir",)),
        ('""', ("",)),
        ("''", ("",)),
        ('a "" b', ("a", "", "b")),
        ("admin@x # no", ("admin@x", "#", "no")),
        ("", ()),
        ("   ", ()),
    ],
)
def test_split_words(raw: str, words: tuple[str, ...]) -> None:
    assert split_words(raw) == words


# --- ${NAME} ------------------------------------------------------------------------------------


def test_expand_variables_replaces_known_names_over_the_whole_line() -> None:
    values = {"A": "1", "B": "two words"}
    assert expand_variables("X ${A} ${B}", values.get) == ("X 1 two words", [])


def test_expand_variables_keeps_an_unknown_name_and_reports_it() -> None:
    assert expand_variables("X ${NOPE}", {}.get) == ("X ${NOPE}", ["NOPE"])


def test_expand_variables_does_not_report_a_name_with_a_colon() -> None:
    assert expand_variables("X ${a:b}", {}.get) == ("X ${a:b}", [])


def test_expand_variables_has_no_default_syntax() -> None:
    assert expand_variables("${X:-dflt}", {}.get) == ("${X:-dflt}", [])


# --- the same rules through load ----------------------------------------------------------------


def test_continued_value_keeps_inner_whitespace_and_splits_into_two_arguments(
    load_config, conf_path
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("ServerName x\nServerAdmin a\\\n    b\n")
    assert str(raised.value) == (
        f"AH00526: Syntax error on line 4 of {conf_path}:\n{SERVER_ADMIN_ARITY}"
    )


def test_continuation_joins_a_value_through_load(load_config) -> None:
    config = load_config("ServerAdmin web\\\nmaster@x\n")
    assert config.get("ServerAdmin") == "webmaster@x"


def test_hash_after_a_directive_is_an_argument(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("ServerAdmin admin@x # no\n")
    assert str(raised.value) == (
        f"AH00526: Syntax error on line 2 of {conf_path}:\n{SERVER_ADMIN_ARITY}"
    )


def test_empty_quoted_argument_does_not_count_for_take1(load_config, conf_path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config('ServerAdmin ""\n')
    assert str(raised.value) == (
        f"AH00526: Syntax error on line 2 of {conf_path}:\n{SERVER_ADMIN_ARITY}"
    )


def test_quoted_argument_with_a_space_is_one_argument(load_config) -> None:
    assert load_config('ServerAdmin "a b"\n').get("ServerAdmin") == "a b"
    assert load_config("ServerAdmin 'c d'\n").get("ServerAdmin") == "c d"


def test_double_backslash_becomes_one_through_load(load_config) -> None:
    assert load_config("ServerAdmin a\\\\b\n").get("ServerAdmin") == "a\\b"


def test_escaped_quote_inside_double_quotes_through_load(load_config) -> None:
    assert load_config('ServerAdmin "a \\"b\\""\n').get("ServerAdmin") == 'a "b"'


def test_continued_comment_hides_the_next_line_through_load(load_config) -> None:
    config = load_config("# comment \\\nNotADirective at all\nServerAdmin a\n")
    assert config.get("ServerAdmin") == "a"


def test_continued_line_at_end_of_file_through_load(load_config) -> None:
    assert load_config("ServerAdmin \\\n  a@b \\").get("ServerAdmin") == "a@b"


def test_directive_names_are_case_insensitive(load_config) -> None:
    config = load_config("threadsperchild 16\nSERVERADMIN a@b\nServerName x\n")
    assert config.get("ThreadsPerChild") == 16
    assert config.get("ServerAdmin") == "a@b"


def test_section_tags_are_case_insensitive(load_config) -> None:
    config = load_config(
        "<ifmodule event.c>\nServerAdmin a@b\n</IFMODULE>\n"
        "<directory /srv>\nOptions Indexes\n</DIRECTORY>\n"
        "<virtualhost *:80>\nServerName v\n</VirtualHost>\n"
    )
    assert config.get("ServerAdmin") == "a@b"
    assert [(section.kind, section.args) for section in config.sections] == [
        ("directory", ("/srv",))
    ]
    assert [vhost.server_name for vhost in config.vhosts] == ["v"]


def test_windows_line_endings_are_accepted(load_config) -> None:
    config = load_config("ServerAdmin a@b\r\n<Directory /srv>\r\nOptions None\r\n</Directory>\r\n")
    assert config.get("ServerAdmin") == "a@b"
    assert config.sections[0].args == ("/srv",)
