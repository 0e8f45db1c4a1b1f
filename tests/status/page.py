"""A small reader of the server-status HTML page for the tests: its `<dt>` sentences, its tables
(rows of cell texts) and its `<pre>` scoreboard, by the stdlib html.parser."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class StatusPage(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.sentences: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.pre = ""
        self._open: str | None = None
        self._text = ""
        self._row: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("dt", "td", "th", "pre"):
            self._open, self._text = tag, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "dt" and self._open == "dt":
            self.sentences.append(self._text.strip())
        elif tag in ("td", "th") and self._row is not None:
            self._row.append(self._text.strip())
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag == "pre":
            self.pre = self._text.replace("\n", "")
        if tag in ("dt", "td", "th", "pre"):
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text += data

    def sentence(self, start: str) -> str:
        return next(s for s in self.sentences if s.startswith(start))

    def number(self, pattern: str) -> int:
        """The integer a regex with one group finds in the sentences."""
        for sentence in self.sentences:
            match = re.search(pattern, sentence)
            if match:
                return int(match.group(1))
        raise AssertionError(f"{pattern!r} not in {self.sentences}")

    def worker_rows(self) -> list[dict[str, str]]:
        table = next(t for t in self.tables if t and t[0][:3] == ["Srv", "PID", "Acc"])
        return [dict(zip(table[0], row, strict=True)) for row in table[1:]]

    def process_rows(self) -> list[list[str]]:
        table = next(t for t in self.tables if t and t[0][:2] == ["Slot", "PID"])
        return table[2:]  # after the two header rows
