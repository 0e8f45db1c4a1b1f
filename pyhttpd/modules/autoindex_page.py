"""autoindex_module's page: index_directory's output, byte for byte as Apache 2.4 writes it.

`Listing` looks every directory entry up with a sub-request (make_autoindex_entry), sorts them and
writes the preamble or the HeaderName file, the plain list, FancyIndexing's <pre> columns or
HTMLTable's table (output_directories), then the ReadmeName file or the server signature.
Runs in the thread serving a request.
"""

from __future__ import annotations

import functools
import os
import stat as stat_module
import time

from pyhttpd.errors import HttpError
from pyhttpd.http.redirect import escape_path, signature, sub_request
from pyhttpd.http.request import Request
from pyhttpd.modules.autoindex_rules import (
    Entry,
    compare,
    escape_html,
    find_description,
    find_item,
    find_title,
    fnmatch_period,
    ignore_patterns,
    items_of,
    parse_query,
    resolve_look,
    scopes_of,
    strfsize,
    wild,
)

_HTML4 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
)
_XHTML = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
)
_KEYS = {"Name": "N", "Date": "M", "Size": "S", "Description": "D"}


class Listing:
    """One index_directory call: the resolved look, the entries and the HTML they become."""

    def __init__(self, request: Request, banner: str) -> None:
        self.request, self.banner = request, banner
        self.scopes = scopes_of(request)
        self.look = resolve_look(self.scopes)
        self.flags = self.look.flags
        self.icons, self.alts = items_of(self.scopes, "Icon"), items_of(self.scopes, "Alt")
        self.ignores = ignore_patterns(self.scopes)
        self.default_icon = request.per_dir.get("DefaultIcon")
        self.xhtml = " /" if "XHTML" in self.flags else ""
        self.style = request.per_dir.get("IndexStyleSheet")

    def entry(self, name: str, path: str) -> Entry | None:
        """make_autoindex_entry: a sub-request for the file decides whether and how it shows."""
        if any(wild(name, pattern) for pattern in self.ignores):
            return None
        is_dir = os.path.isdir(path)
        slash = "/" if is_dir else ""
        sub = sub_request(self.request, name + slash, filename=path + slash)
        shown = sub.status < 400 or ("ShowForbidden" in self.flags and sub.status in (401, 403))
        if sub.stat is None or not shown:
            return None
        regular = stat_module.S_ISREG(sub.stat.st_mode)
        if not regular and not stat_module.S_ISDIR(sub.stat.st_mode):
            return None
        item = Entry(name + ("/" if is_dir else ""))
        if self.flags & {"FancyIndexing", "HTMLTable"}:
            item.lm = sub.stat.st_mtime
            where = sub.filename or path
            if is_dir:
                item.isdir = "FoldersFirst" in self.flags
                where = os.path.dirname(where) if regular or where.endswith("/") else where
                item.icon = find_item(self.icons, where, None, None, True) or self._default("Icon")
                item.alt = find_item(self.alts, where, None, None, True) or (
                    self._default("Alt") or "DIR"
                )
            else:
                ctype = (sub.content_type or "").split(";")[0].strip() or None
                encoding = sub.headers_out.get("Content-Encoding")
                item.icon = find_item(self.icons, where, ctype, encoding, False)
                item.alt = find_item(self.alts, where, ctype, encoding, False)
                item.size = sub.stat.st_size
            item.desc = find_description(self.scopes, where)
            if item.desc is None and "ScanHTMLTitles" in self.flags and not is_dir:
                item.desc = find_title(sub)
        return item

    def _default(self, kind: str, path: str = "^^DIRECTORY^^") -> str | None:
        return find_item(self.icons if kind == "Icon" else self.alts, path, None, None, True)

    def parent(self) -> Entry | None:
        request = self.request
        if request.uri.rstrip("/") == "":
            return None
        testpath = os.path.join(request.filename or "", "..")
        if any(wild("..", pattern) for pattern in self.ignores):
            return None
        uri = request.uri.rstrip("/")
        item = Entry(uri[: uri.rfind("/") + 1])
        if "FancyIndexing" in self.flags:
            item.icon = self._default("Icon", testpath) or self._default("Icon")
            item.alt = self._default("Alt", testpath) or self._default("Alt") or "PARENTDIR"
            item.desc = find_description(self.scopes, testpath)
        return item

    # --- output_directories -------------------------------------------------------------------

    def _link(self, anchor: str, column: str, key: str, direction: str, colargs: str) -> str:
        if "SuppressColumnSorting" in self.flags:
            return anchor
        order = "D" if key == column and direction == "A" else "A"
        return f'<a href="?C={column};O={order}{colargs}">{anchor}</a>'

    def _img(self, src: str, alt: str) -> str:
        look = self.look
        size = f' width="{look.icon_width}"' if look.icon_width else ""
        size += f' height="{look.icon_height}"' if look.icon_height else ""
        return f'<img src="{escape_html(src)}" alt="{alt}"{size}{self.xhtml}>'

    def _cell(self, name: str, plain: str = "") -> str:
        return f' class="indexcol{name}">' if self.style else plain or ">"

    def columns(self, key: str, direction: str, colargs: str) -> tuple[str, str]:
        """The heading of the table or <pre> block, and the rule that closes it."""
        flags, out = self.flags, []
        blank = self._default("Icon", "^^BLANKICON^^")
        links = [
            (self._link(text, column, key, direction, colargs), cell, suppress)
            for text, column, cell, suppress in (
                ("Last modified", "M", "lastmod", "SuppressLastModified"),
                ("Size", "S", "size", "SuppressSize"),
                ("Description", "D", "desc", "SuppressDescription"),
            )
        ]
        name_link = self._link("Name", "N", key, direction, colargs)
        if "HTMLTable" in flags:
            head = (
                '  <table id="indexlist">\n   <tr class="indexhead">'
                if self.style
                else ("  <table>\n   <tr>")
            )
            out.append(head)
            cols = 1
            if "SuppressIcon" not in flags:
                out.append("<th" + self._cell("icon", ' valign="top">'))
                out.append(self._img(blank, "[ICO]") + "</th>" if blank else "&nbsp;</th>")
                cols += 1
            out.append("<th" + self._cell("name") + name_link)
            for link, cell, suppress in links:
                if suppress not in flags:
                    out.append("</th><th" + self._cell(cell) + link)
                    cols += 1
            rule = ""
            if "SuppressRules" not in flags:
                row = ' class="indexbreakrow"' if self.style else ""
                rule = f'   <tr{row}><th colspan="{cols}"><hr{self.xhtml}></th></tr>\n'
            out.append("</th></tr>\n" + rule)
            return "".join(out), rule + "</table>\n"
        if "FancyIndexing" in flags:
            out.append("<pre>")
            if "SuppressIcon" not in flags:
                out.append(self._img(blank, "Icon ") + " " if blank else "      ")
            out.append(name_link + " " * (self.name_width - 4) + " ")
            tails = {
                "SuppressLastModified": "      ",
                "SuppressSize": "  ",
                "SuppressDescription": "",
            }
            for link, _, suppress in links:
                if suppress not in flags:
                    out.append(link + tails[suppress])
            rule = f"<hr{self.xhtml}>" if "SuppressRules" not in flags else "\n"
            out.append(rule)
            return "".join(out), (f"<hr{self.xhtml}></pre>\n" if rule != "\n" else "</pre>\n")
        return "<ul>", "</ul>\n"

    def _name(self, title: str, adjust: bool) -> tuple[str, str]:
        """The escaped name, cut to NameWidth bytes with '..>', and the padding after it."""
        raw = title.encode("utf-8", "surrogateescape")
        width = self.name_width
        if adjust:
            return escape_html(title), ""
        if len(raw) > width:
            raw = raw[: width - 3] + b"..>"
        return escape_html(raw.decode("utf-8", "surrogateescape")), " " * (width - len(raw))

    def row(self, number: int, item: Entry) -> str:
        flags, look = self.flags, self.look
        anchor = escape_html(escape_path(item.name, partial=False))
        title = "Parent Directory" if number == 0 and item.name.startswith("/") else item.name
        if not flags & {"FancyIndexing", "HTMLTable"}:
            return f'<li><a href="{anchor}"> {escape_html(title)}</a></li>\n'
        table, out = "HTMLTable" in flags, []
        if table and self.style:
            parity = "odd" if number & 1 else "even"
            if item.alt and "AddAltClass" in flags:
                parity += "-" + item.alt.lower()
            out.append(f'   <tr class="{parity}">')
        elif table:
            out.append("<tr>")
        if "SuppressIcon" not in flags:
            links = "IconsAreLinks" in flags
            out.append("<td" + self._cell("icon", ' valign="top">') if table else "")
            out.append(f'<a href="{anchor}">' if links else "")
            icon = item.icon or self.default_icon
            blank = "&nbsp;" if table else "     "
            out.append(self._img(icon, f"[{item.alt or '   '}]") if icon else blank)
            out.append(("</a>" if links else "") + ("</td>" if table else " "))
        name, pad = self._name(title, table and look.name_adjust == "adjust")
        out.append(("<td" + self._cell("name") if table else "") + f'<a href="{anchor}">')
        out.append(name + "</a>" + pad + ("" if table else " "))
        date = time.strftime(look.date_format, time.localtime(item.lm)) if item.lm != -1 else ""
        if "SuppressLastModified" not in flags and table:
            nothing = ' class="indexcollastmod">&nbsp;' if self.style else ">&nbsp;"
            out.append(
                "</td><td"
                + (self._cell("lastmod", ' align="right">') + date + "  " if date else nothing)
            )
        elif "SuppressLastModified" not in flags:
            out.append(date + "  " if date else " " * 19)
        if "SuppressSize" not in flags:
            size = strfsize(item.size)
            out.append(
                "</td><td" + self._cell("size", ' align="right">') + size if table else size + "  "
            )
        if "SuppressDescription" not in flags:
            desc = item.desc
            if desc is not None and not (table and look.desc_adjust == "adjust"):
                desc = self.terminate(desc)
            if table:
                out.append(
                    "</td><td" + self._cell("desc") + (desc if desc is not None else "&nbsp;")
                )
            elif desc:
                out.append(desc)
        return "".join(out) + ("</td></tr>\n" if table else "\n")

    def terminate(self, desc: str) -> str:
        """terminate_description: cut to DescriptionWidth visible characters, tags not counted."""
        look, flags, maxsize = self.look, self.flags, self.desc_width
        if look.desc_adjust == "":
            maxsize += 6 * ("SuppressIcon" in flags) + 19 * ("SuppressLastModified" in flags)
            maxsize += 7 * ("SuppressSize" in flags)
        x = 0
        while x < len(desc) and (maxsize > 0 or desc[x] == "<"):
            if desc[x] in "<&":
                end = desc.find(">" if desc[x] == "<" else ";", x)
                maxsize -= desc[x] == "&"
                if end < 0:
                    return desc
                x = end
            else:
                maxsize -= 1
            x += 1
        return desc[: x - 1] + ">" if maxsize <= 0 and x < len(desc) else desc

    # --- the page -----------------------------------------------------------------------------

    def _included(self, name: str | None, with_query: bool) -> tuple[str, bytes] | None:
        """HeaderName / ReadmeName: (content type, bytes) of a regular file found by sub-request."""
        if not name:
            return None
        query = self.request.query
        sub = sub_request(self.request, name + (f"?{query}" if with_query and query else ""))
        if sub.status != 200 or sub.stat is None or not stat_module.S_ISREG(sub.stat.st_mode):
            return None
        content_type = (sub.content_type or "").split(";")[0].strip().lower()
        if content_type != "text/html" and not content_type.startswith("text/"):
            return None
        try:
            with open(sub.filename or "", "rb") as handle:
                return content_type, handle.read()
        except OSError:
            return None

    @staticmethod
    def _plain(data: bytes) -> str:
        text = data.decode("utf-8", "surrogateescape")
        return (
            "<pre>\n"
            + text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            + "</pre>\n"
        )

    def preamble(self, title: str) -> str:
        request = self.request
        if self.xhtml:
            text = _XHTML + '<html xmlns="http://www.w3.org/1999/xhtml">\n'
        else:
            text = _HTML4 + "<html>\n"
        text += f" <head>\n  <title>Index of {title}</title>\n"
        if self.style:
            text += f'  <link rel="stylesheet" href="{self.style}" type="text/css"'
            text += " />\n" if self.xhtml else ">\n"
        text += str(request.per_dir.get("IndexHeadInsert") or "")
        return text + " </head>\n <body>\n"

    def page(self) -> str:
        request, flags, look = self.request, self.flags, self.look
        order = request.per_dir.get("IndexOrderDefault") or ("Ascending", "Name")
        key, direction = _KEYS[order[1]], order[0][0]
        colargs, pattern = "", ""
        if "IgnoreClient" in flags:
            flags.add("SuppressColumnSorting")
        else:
            key, direction, colargs, pattern = parse_query(request.query, key, direction, flags)
        title = escape_html(request.uri)
        title = title.rstrip("/") or title[:1]
        suppress = "SuppressHTMLPreamble" in flags
        out: list[str] = []
        header = self._included(request.per_dir.get("HeaderName"), True)
        if header and header[0] == "text/html":
            out += [
                "" if suppress else self.preamble(title),
                header[1].decode("utf-8", "surrogateescape"),
            ]
        elif header:
            out += [self.preamble(title), self._plain(header[1])]
        else:
            out += [self.preamble(title), f"<h1>Index of {title}</h1>\n"]
        directory = request.filename or ""
        try:
            names = os.listdir(directory)
        except OSError:
            raise HttpError(
                403, f"Can't open directory for index: {directory}", "AH01275", close=False
            ) from None
        entries = [
            item
            for name in names
            if not pattern or fnmatch_period(name, pattern)
            if (item := self.entry(name, os.path.join(directory, name))) is not None
        ]
        if key == "M":
            for item in entries:
                item.lm = max(item.lm, 0)
        ascending = direction == "A"
        order = functools.partial(compare, key=key, ascending=ascending, flags=flags)
        entries.sort(key=functools.cmp_to_key(order))
        parent = self.parent()
        entries = ([parent] if parent else []) + entries
        self.name_width, self.desc_width = look.name_width, look.desc_width
        if "FancyIndexing" in flags and "HTMLTable" not in flags:
            if look.name_adjust == "adjust":
                widths = [len(e.name.encode("utf-8", "surrogateescape")) for e in entries]
                self.name_width = max([self.name_width, *widths])
            if look.desc_adjust == "adjust":
                self.desc_width = max([self.desc_width, *(len(e.desc) for e in entries if e.desc)])
        head, tail = self.columns(key, direction, colargs)
        out += [head, *(self.row(n, item) for n, item in enumerate(entries)), tail]
        readme = self._included(request.per_dir.get("ReadmeName"), False)
        if readme and readme[0] == "text/html":
            out.append(readme[1].decode("utf-8", "surrogateescape"))
        elif readme:
            out.append(self._plain(readme[1]))
        else:
            out.append(signature(request, self.banner))
        if not (readme and readme[0] == "text/html" and suppress):
            out.append("</body></html>\n")
        return "".join(out)
