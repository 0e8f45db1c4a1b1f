"""The tokenizer of ap_expr (util_expr_scan.l): text -> tokens, strings -> literal and %{...} parts.

Context-sensitive as Apache's flex scanner is: after `=~` / `!~` the next token is a regex
(`/re/`, `m#re#`, flag `i` only); quoted strings and string expressions interpolate `%{VAR}`,
`%{func:arg}` and `$0`..`$9`, with C escapes. Variable and function names are checked here, so an
unknown one fails while the configuration is read, as in Apache. Used by expr.py only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pyhttpd.http import expr_vars
from pyhttpd.http.expr_vars import Context, Word

_SINGLE = "=<>!(){},."
_DOUBLE = ("==", "!=", "<=", ">=", "=~", "!~", "&&", "||")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_WORD = re.compile(r"\d+|-[A-Za-z_]+|[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OCTAL = re.compile(r"\\([0-7]{1,3})|\\([0-9]+)")
_FLAGS = re.compile(r"[A-Za-z]*")


class ExpressionError(Exception):
    """A parse error's reason, before the caller's prefix is added."""


@dataclass(frozen=True)
class Token:
    kind: str  # op, dashop, id, digits, string, var, backref, regex, end
    text: str
    value: Any = None


class Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def tokens(self) -> list[Token]:
        found: list[Token] = []
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos >= len(self.text):
                found.append(Token("end", "$end"))
                return found
            if found and found[-1].kind == "op" and found[-1].text in ("=~", "!~"):
                found.append(self._regex())
            else:
                found.append(self._token())

    def _token(self) -> Token:
        text, pos = self.text, self.pos
        char = text[pos]
        if char in "'\"":
            self.pos += 1
            parts = self.parts(char)
            return Token("string", text[pos : self.pos], parts)
        if text.startswith("%{", pos):
            self.pos += 2
            return Token("var", text[pos : self.pos], self._variable())
        if char == "$" and text[pos + 1 : pos + 2].isdigit():
            self.pos += 2
            return Token("backref", text[pos : self.pos], backref(int(text[pos + 1])))
        match = _WORD.match(text, pos)
        if match:
            self.pos = match.end()
            word = match.group()
            kind = "digits" if word[0].isdigit() else "dashop" if word[0] == "-" else "id"
            return Token(kind, word)
        if text[pos : pos + 2] in _DOUBLE:
            self.pos += 2
            return Token("op", text[pos : pos + 2])
        if char in _SINGLE:
            self.pos += 1
            return Token("op", char)
        raise ExpressionError(f"Parse error near '{char}'")

    def parts(self, end: str | None) -> list[str | Word]:
        """String content up to `end` (None: end of text): literals, %{...} and $N."""
        parts: list[str | Word] = []
        literal: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                if end is None:
                    break
                raise ExpressionError("Unterminated string or variable")
            char = text[self.pos]
            if char == end:
                self.pos += 1
                break
            if char == "\\" and self.pos + 1 < len(text):
                literal.append(self._escape())
                continue
            if text.startswith("%{", self.pos) or (
                char == "$" and text[self.pos + 1 : self.pos + 2].isdigit()
            ):
                if literal:
                    parts.append("".join(literal))
                    literal = []
                if char == "$":
                    parts.append(backref(int(text[self.pos + 1])))
                    self.pos += 2
                else:
                    self.pos += 2
                    parts.append(self._variable())
                continue
            literal.append(char)
            self.pos += 1
        if literal:
            parts.append("".join(literal))
        return parts

    def _escape(self) -> str:
        octal = _OCTAL.match(self.text, self.pos)
        if octal:
            self.pos = octal.end()
            if octal.group(2) or int(octal.group(1), 8) > 0xFF:
                raise ExpressionError(
                    "Bad escape sequence" if octal.group(2) else "Escape sequence out of bound"
                )
            return chr(int(octal.group(1), 8))
        char = self.text[self.pos + 1]
        self.pos += 2
        return _ESCAPES.get(char, char)

    def _variable(self) -> Word:
        """After `%{`: a variable name, or `func:argument`, up to the closing brace."""
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise ExpressionError("Unterminated string or variable")
        name = match.group()
        self.pos = match.end()
        following = self.text[self.pos : self.pos + 1]
        if following == "}":
            self.pos += 1
            variable = expr_vars.VARIABLES.get(name.upper())
            if variable is None:
                raise ExpressionError(f"Variable '{name}' does not exist")
            return variable
        if following != ":":
            raise ExpressionError("Unterminated string or variable")
        self.pos += 1
        function = expr_vars.FUNCTIONS.get(name.lower())
        if function is None:
            raise ExpressionError(f"Function '{name}' does not exist")
        parts = self.parts("}")
        if not parts:
            raise ExpressionError("syntax error, unexpected T_VAR_END")
        argument = concat(parts)
        return lambda context: function(context, argument(context))

    def _regex(self) -> Token:
        text, start = self.text, self.pos
        if text[start] == "/":
            separator, self.pos = "/", start + 1
        elif text[start] == "m" and start + 1 < len(text) and not text[start + 1].isalnum():
            separator, self.pos = text[start + 1], start + 2
        else:
            raise ExpressionError("syntax error, expecting a regular expression")
        pattern: list[str] = []
        while True:
            if self.pos >= len(text):
                raise ExpressionError("Unterminated regexp")
            char = text[self.pos]
            if char == "\\" and text[self.pos + 1 : self.pos + 2] == separator:
                pattern.append(separator)
                self.pos += 2
                continue
            self.pos += 1
            if char == separator:
                break
            pattern.append(char)
        flags = _FLAGS.match(text, self.pos)
        assert flags is not None
        self.pos = flags.end()
        if flags.group().strip("i"):
            raise ExpressionError("syntax error, unexpected T_ID, expecting $end")
        try:
            compiled = re.compile("".join(pattern), re.IGNORECASE if flags.group() else 0)
        except re.error:
            raise ExpressionError("Failed to compile regular expression") from None
        return Token("regex", text[start : self.pos], compiled)


def backref(number: int) -> Word:
    def word(context: Context) -> str:
        match = context.match
        if match is None or number > (match.re.groups or 0):
            return ""
        return match.group(number) or ""

    return word


def concat(parts: list[str | Word]) -> Word:
    if all(isinstance(part, str) for part in parts):
        constant = "".join(part for part in parts if isinstance(part, str))
        return lambda context: constant
    if len(parts) == 1 and not isinstance(parts[0], str):
        return parts[0]
    return lambda context: "".join(p if isinstance(p, str) else p(context) for p in parts)
