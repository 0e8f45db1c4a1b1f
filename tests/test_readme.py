"""The README's directive list matches the modules' directive tables (as `pyhttpd -L` prints them)."""

from __future__ import annotations

from pathlib import Path

from pyhttpd.directive_status import markdown_table

ROOT = Path(__file__).resolve().parents[1]


def test_readme_directive_table_matches_the_module_tables() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- directives:begin -->\n", 1)[1].split("\n<!-- directives:end -->")[0]
    assert block == markdown_table(), "run: python scripts/directive_list.py --write"


def test_readme_shows_the_two_setup_commands_first() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block
