"""Apache's ap_expr (util_expr_*.c): parsed once while the configuration is read, run per request.

Hand-written rather than pyparsing, because ap_expr's lexer is context-sensitive: a regex may only
follow `=~` / `!~` and may use any separator (`m#...#`), quoted strings interpolate `%{...}` and
`$1`, and `-f` is a unary operator at the start of a condition while `-eq` is a binary one after a
word. A tokenizer and a small recursive-descent parser say that directly, give Apache's error
texts, and compile to closures, so a request pays only for a tree walk. The grammar, minus list
functions such as split():

    expr  := and ('||' and)*              and  := unary ('&&' unary)*
    unary := '!' unary | 'true' | 'false' | '(' expr ')' | comp
    comp  := UNARY_OP word | word ('=='|'='|'!='|'<'|'<='|'>'|'>=') word | word INT_OP word
           | word ('-ipmatch'|'-strmatch'|'-strcmatch'|'-fnmatch') word
           | word ('=~'|'!~') regex | word 'in' '{' word (',' word)* '}'
    word  := atom ('.' atom)*
    atom  := digits | 'string' | "string" | %{VAR} | %{func:arg} | $0..$9 | func '(' word ')'

A string expression (`Header set X "expr=..."`) is text with `%{...}` and `$N` interpolated.
The tokenizer is expr_lexer.py; variables, functions and the helpers modules share (regsub,
ip_subnet, request_header) are expr_vars.py. Knows the Request only through expr_vars. Parsing
runs while a configuration is processed; evaluation in the thread serving the request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyhttpd.errors import DirectiveError
from pyhttpd.http import expr_vars
from pyhttpd.http.expr_lexer import ExpressionError, Lexer, Token, concat
from pyhttpd.http.expr_vars import (
    Context,
    Network,
    Word,
    glob_regex,
    ip_in,
    ip_subnet,
    regsub,
    request_header,
)

__all__ = [
    "Expression",
    "evaluate",
    "evaluate_match",
    "evaluator",
    "ip_in",
    "ip_subnet",
    "parse",
    "parse_string",
    "regsub",
    "render",
    "request_header",
]

Condition = Callable[[Context], bool]

STRING_OPS: dict[str, Callable[[str, str], bool]] = {
    "==": lambda a, b: a == b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
INT_OPS: dict[str, Callable[[int, int], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Expression:
    """A compiled expression: `condition` for boolean ones, `string` for string expressions."""

    text: str
    condition: Condition | None = None
    string: Word | None = None


# --- parser --------------------------------------------------------------------------------------


def _describe(token: Token) -> str:
    return "$end" if token.kind == "end" else f"'{token.text}'"


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.kind != "op" or token.text != text:
            raise ExpressionError(
                f"syntax error, unexpected {_describe(token)}, expecting '{text}'"
            )

    def condition(self) -> Condition:
        result = self._or()
        if self.peek().kind != "end":
            raise ExpressionError(
                f"syntax error, unexpected {_describe(self.peek())}, expecting $end"
            )
        return result

    def _or(self) -> Condition:
        left = self._and()
        while self.peek().kind == "op" and self.peek().text == "||":
            self.take()
            right, first = self._and(), left
            left = lambda c, a=first, b=right: a(c) or b(c)  # noqa: E731
        return left

    def _and(self) -> Condition:
        left = self._unary()
        while self.peek().kind == "op" and self.peek().text == "&&":
            self.take()
            right, first = self._unary(), left
            left = lambda c, a=first, b=right: a(c) and b(c)  # noqa: E731
        return left

    def _unary(self) -> Condition:
        token = self.peek()
        if token.kind == "op" and token.text == "!":
            self.take()
            inner = self._unary()
            return lambda context: not inner(context)
        if token.kind == "op" and token.text == "(":
            self.take()
            inner = self._or()
            self.expect(")")
            return inner
        if token.kind == "id" and token.text in ("true", "false"):
            self.take()
            value = token.text == "true"
            return lambda context: value
        if token.kind == "dashop":
            self.take()
            return self._unary_operator(token.text)
        return self._comparison()

    def _unary_operator(self, name: str) -> Condition:
        test = expr_vars.UNARY.get(name[1:])
        if test is None:
            raise ExpressionError(f"Unary operator '{name}' does not exist")
        word, constant = self.word()
        if name == "-R":
            network = _constant_subnet(constant, "-R")
            return lambda context: ip_in(expr_vars.client_ip(context.request), network)
        return lambda context: test(context, word(context))

    def _comparison(self) -> Condition:
        left, _ = self.word()
        token = self.take()
        name = token.text.lower().lstrip("-") if token.kind in ("id", "dashop") else ""
        if token.kind == "op" and token.text in STRING_OPS:
            compare = STRING_OPS[token.text]
            right, _ = self.word()
            return lambda c: compare(left(c), right(c))
        if name in INT_OPS and (token.kind == "dashop" or token.text == name):
            numeric = INT_OPS[name]
            right, _ = self.word()
            return lambda c: numeric(_atoi(left(c)), _atoi(right(c)))
        if token.kind == "op" and token.text in ("=~", "!~"):
            found = self.take()
            if found.kind != "regex":
                raise ExpressionError(f"syntax error, unexpected {_describe(found)}")
            regex, negate = found.value, token.text == "!~"
            return lambda c: _search(c, regex, left(c)) != negate
        if token.kind == "id" and token.text == "in":
            return self._in(left)
        if token.kind == "dashop":
            return self._binary_operator(token.text, left)
        raise ExpressionError(f"syntax error, unexpected {_describe(token)}")

    def _binary_operator(self, name: str, left: Word) -> Condition:
        right, constant = self.word()
        if name == "-ipmatch":
            network = _constant_subnet(constant, name)
            return lambda c: ip_in(left(c), network)
        if name in ("-strmatch", "-strcmatch", "-fnmatch"):
            nocase, path = name == "-strcmatch", name == "-fnmatch"
            fixed = glob_regex(constant, pathname=path, nocase=nocase) if constant else None

            def matches(c: Context) -> bool:
                regex = fixed or glob_regex(right(c), pathname=path, nocase=nocase)
                return regex.fullmatch(left(c)) is not None

            return matches
        raise ExpressionError(f"Binary operator '{name}' does not exist")

    def _in(self, left: Word) -> Condition:
        self.expect("{")
        words = [self.word()[0]]
        while self.peek().kind == "op" and self.peek().text == ",":
            self.take()
            words.append(self.word()[0])
        self.expect("}")
        return lambda c: left(c) in {w(c) for w in words}

    def word(self) -> tuple[Word, str | None]:
        """A word and, when it is made of literals only, its constant value."""
        pieces = [self._atom()]
        while self.peek().kind == "op" and self.peek().text == ".":
            self.take()
            pieces.append(self._atom())
        constants = [constant for _, constant in pieces]
        if all(constant is not None for constant in constants):
            value = "".join(c for c in constants if c is not None)
            return (lambda context: value), value
        words = [word for word, _ in pieces]
        if len(words) == 1:
            return words[0], None
        return (lambda context: "".join(w(context) for w in words)), None

    def _atom(self) -> tuple[Word, str | None]:
        token = self.take()
        if token.kind == "digits":
            return (lambda context: token.text), token.text
        if token.kind == "string":
            parts = token.value
            word = concat(parts)
            constant = "".join(parts) if all(isinstance(p, str) for p in parts) else None
            return word, constant
        if token.kind in ("var", "backref"):
            return token.value, None
        if token.kind == "id":
            if self.peek().kind != "op" or self.peek().text != "(":
                raise ExpressionError(
                    f"syntax error, unexpected {_describe(self.peek())}, expecting '('"
                )
            function = expr_vars.FUNCTIONS.get(token.text.lower())
            if function is None:
                raise ExpressionError(f"Function '{token.text}' does not exist")
            self.take()
            argument, _ = self.word()
            self.expect(")")
            return (lambda context: function(context, argument(context))), None
        raise ExpressionError(f"syntax error, unexpected {_describe(token)}")


# --- helpers -----------------------------------------------------------------------------------


def _atoi(text: str) -> int:
    """apr_atoi64 (strtoll): leading blanks, a sign, then digits; anything else counts as 0."""
    match = re.match(r"\s*([-+]?\d+)", text)
    return int(match.group(1)) if match else 0


def _search(context: Context, regex: re.Pattern[str], text: str) -> bool:
    match = regex.search(text)
    context.match = match
    return match is not None


def _constant_subnet(constant: str | None, name: str) -> Network:
    if constant is None:
        raise ExpressionError(f"{name} requires subnet/netmask as constant argument")
    network = ip_subnet(constant)
    if network is None:
        raise ExpressionError("parsing of subnet/netmask failed")
    return network


# --- public entry points -------------------------------------------------------------------------


def parse(text: str, what: str = "Cannot parse condition clause") -> Expression:
    """Compile a boolean expression; DirectiveError carries `what: reason`, as Apache prints."""
    try:
        return Expression(text, condition=_Parser(Lexer(text).tokens()).condition())
    except ExpressionError as error:
        raise DirectiveError(f"{what}: {error}") from None


def parse_string(text: str, what: str = "Can't parse value expression ") -> Expression:
    """Compile a string expression: text with %{...} and $N interpolated."""
    try:
        return Expression(text, string=concat(Lexer(text).parts(None)))
    except ExpressionError as error:
        raise DirectiveError(f"{what}: {error}") from None


def evaluate_match(expression: Expression, request: Any) -> tuple[bool, re.Match[str] | None]:
    """Run a boolean expression; also return the last regex match (for $1 in SetEnvIfExpr).

    A failure while evaluating (an unreadable file, say) counts as false, as Apache's AH00039.
    An expression can read the time, the client or files: its request is not replayed.
    """
    request.replayable = False
    context = Context(request)
    assert expression.condition is not None, "not a boolean expression"
    try:
        return bool(expression.condition(context)), context.match
    except (OSError, ValueError, UnicodeError):
        return False, None


def evaluate(expression: Expression, request: Any) -> bool:
    return evaluate_match(expression, request)[0]


def render(expression: Expression, request: Any) -> str:
    """The value of a string expression for this request (which is then not replayed)."""
    request.replayable = False
    assert expression.string is not None, "not a string expression"
    try:
        return expression.string(Context(request))
    except (OSError, ValueError, UnicodeError):
        return ""


@functools.lru_cache(maxsize=512)
def compiled(text: str) -> Expression | None:
    """The parsed <If> expression for `text` (None if it does not parse), parsed once."""
    try:
        return parse(text)
    except DirectiveError:
        return None


def evaluator(request: Any) -> Callable[[str], bool]:
    """What config.lookup.sections_for needs to decide <If>/<ElseIf>: text -> bool for `request`."""

    def evaluate_text(text: str) -> bool:
        expression = compiled(text)
        return expression is not None and evaluate(expression, request)

    return evaluate_text
