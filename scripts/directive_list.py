"""Print the README's directive table from the modules' directive tables (`pyhttpd -L`'s source).

Usage: python scripts/directive_list.py [--write]. With --write it replaces the block between the
README's `<!-- directives:begin -->` and `<!-- directives:end -->` markers; tests/test_readme.py
fails when the README drifts from the tables. Developer helper: nothing imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pyhttpd.directive_status import ACTED_ON, markdown_table

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- directives:begin -->", "<!-- directives:end -->"


def main() -> None:
    table = markdown_table()
    if "--write" not in sys.argv:
        print(table)
        return
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    print(f"README.md: {table.count(chr(10)) - 1} directives, {len(ACTED_ON)} acted on")


if __name__ == "__main__":
    main()
