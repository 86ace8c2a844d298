"""A parser for the subset of SOQL a lead sync sends: one object, a field list (relationship
fields with dots), WHERE with AND/OR/NOT and parentheses over comparisons, ORDER BY, LIMIT,
OFFSET.

Syntax from the SOQL and SOSL Reference:
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm
(SELECT ... FROM ... [WHERE] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST]] [LIMIT n] [OFFSET n]),
.../sforce_api_calls_soql_select_comparisonoperators.htm (=, !=, <, <=, >, >=, LIKE, IN, NOT IN),
.../sforce_api_calls_soql_select_logicaloperators.htm (AND, OR, NOT; mixing AND and OR
without parentheses is an error), .../sforce_api_calls_soql_select_quotedstringescapes.htm
(strings in single quotes, backslash escapes) and
.../sforce_api_calls_soql_select_dateformats.htm (dateTime literals unquoted:
``1999-01-01T23:01:01Z``, ``...+01:00``, ``...-08:00``; dates ``1999-01-01``).
Keywords are case-insensitive. A query the parser cannot read raises :class:`SoqlError` with
``MALFORMED_QUERY`` and Salesforce's message shape (the query, a caret under the offending
column, ``ERROR at Row:r:Column:c``, what was unexpected).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from leadflow.sandbox.salesforce.ids import parse_sf_datetime

KEYWORDS = frozenset(
    {
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "in",
        "like",
        "order",
        "by",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "limit",
        "offset",
        "true",
        "false",
        "null",
    }
)
_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<datetime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,3})?(?:Z|[+-]\d\d:\d\d))"
    r"|(?P<date>\d{4}-\d\d-\d\d)(?![\dT])"
    r"|(?P<number>-?\d+(?:\.\d+)?)(?![\w.])"
    r"|(?P<string>'(?:[^'\\]|\\.)*')"
    r"|(?P<op>!=|<>|<=|>=|=|<|>)"
    r"|(?P<punct>[(),])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
)
_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    "'": "'",
    '"': '"',
    "\\": "\\",
    "%": "\\%",
    "_": "\\_",
}


class SoqlError(ValueError):
    """A query Salesforce would refuse: ``code`` is its errorCode, ``message`` its text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Token:
    kind: str  # datetime | date | number | string | op | punct | name | eof
    text: str
    offset: int

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "name" else ""


@dataclass(frozen=True)
class Literal:
    kind: str  # string | number | boolean | null | datetime | date
    value: Any


@dataclass(frozen=True)
class Comparison:
    path: str
    op: str  # = != < <= > >= IN NOT IN LIKE
    value: Literal | tuple[Literal, ...]
    offset: int


@dataclass(frozen=True)
class Logic:
    op: str  # AND | OR | NOT
    parts: tuple[Condition, ...]


Condition = Comparison | Logic


@dataclass(frozen=True)
class Order:
    path: str
    descending: bool
    nulls_last: bool
    offset: int


@dataclass
class Query:
    text: str
    fields: list[tuple[str, int]]  # (path, offset)
    object_name: str
    object_offset: int
    where: Condition | None = None
    order: list[Order] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    count_only: bool = False  # SELECT COUNT(): the number of rows, no records


def error_at(text: str, offset: int, detail: str, code: str = "MALFORMED_QUERY") -> SoqlError:
    """Salesforce's message: the query, a caret under the column, the row and column, why."""
    row = text.count("\n", 0, offset) + 1
    line_start = text.rfind("\n", 0, offset) + 1
    column = offset - line_start + 1
    line = text.splitlines()[row - 1] if text.strip() else ""
    caret = " " * (column - 1) + "^"
    return SoqlError(code, f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{detail}")


def tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None:
            raise error_at(text, position, f"unexpected token: '{text[position]}'")
        if found.lastgroup != "ws":
            tokens.append(Token(found.lastgroup or "", found.group(), position))
        position = found.end()
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.at = text, tokenize(text), 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def fail(self, token: Token | None = None) -> SoqlError:
        token = token or self.token
        return error_at(self.text, token.offset, f"unexpected token: {token.text}")

    def take(self, *words: str) -> Token:
        token = self.token
        if words and token.word not in words and token.text not in words:
            raise self.fail()
        self.at += 1
        return token

    def accept(self, *words: str) -> bool:
        if self.token.word in words or (
            self.token.kind in ("op", "punct") and self.token.text in words
        ):
            self.at += 1
            return True
        return False

    def name(self) -> Token:
        token = self.token
        if token.kind != "name" or token.word in KEYWORDS:
            raise self.fail()
        self.at += 1
        return token

    def query(self) -> Query:
        self.take("select")
        counted = self._count_call()
        fields = [] if counted else [self.name()]
        while not counted and self.accept(","):
            fields.append(self.name())
        self.take("from")
        obj = self.name()
        paths = [(f.text, f.offset) for f in fields] or [("Id", obj.offset)]
        query = Query(self.text, paths, obj.text, obj.offset, count_only=counted)
        if self.accept("where"):
            query.where = self.condition()
        if self.accept("order"):
            self.take("by")
            query.order = self.order()
        query.limit = self.count("limit")
        query.offset = self.count("offset")
        if self.token.kind != "eof":
            raise self.fail()
        return query

    def _count_call(self) -> bool:
        """``COUNT()`` as the select list (no field inside: the row count)."""
        following = self.tokens[self.at + 1] if self.at + 1 < len(self.tokens) else None
        if self.token.word != "count" or following is None or following.text != "(":
            return False
        self.at += 2
        self.take(")")
        return True

    def count(self, word: str) -> int | None:
        if not self.accept(word):
            return None
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            raise self.fail(token)
        return int(token.text)

    def order(self) -> list[Order]:
        items = []
        while True:
            path = self.name()
            descending = self.accept("desc")
            if not descending:
                self.accept("asc")
            nulls_last = False
            if self.accept("nulls"):
                nulls_last = self.take("first", "last").word == "last"
            items.append(Order(path.text, descending, nulls_last, path.offset))
            if not self.accept(","):
                return items

    def condition(self) -> Condition:
        parts, joiner = [self.unary()], None
        while self.token.word in ("and", "or"):
            word = self.token.word.upper()
            if joiner is not None and word != joiner:
                raise self.fail()
            joiner = word
            self.at += 1
            parts.append(self.unary())
        return parts[0] if joiner is None else Logic(joiner, tuple(parts))

    def unary(self) -> Condition:
        if self.accept("not"):
            return Logic("NOT", (self.unary(),))
        if self.accept("("):
            inner = self.condition()
            self.take(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        path = self.name()
        if self.accept("not"):
            self.take("in")
            return Comparison(path.text, "NOT IN", self.values(), path.offset)
        if self.accept("in"):
            return Comparison(path.text, "IN", self.values(), path.offset)
        if self.accept("like"):
            return Comparison(path.text, "LIKE", self.literal(), path.offset)
        op = self.take()
        if op.kind != "op":
            raise self.fail(op)
        return Comparison(
            path.text, "!=" if op.text == "<>" else op.text, self.literal(), path.offset
        )

    def values(self) -> tuple[Literal, ...]:
        self.take("(")
        values = [self.literal()]
        while self.accept(","):
            values.append(self.literal())
        self.take(")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            return Literal("string", _unquote(token.text))
        if token.kind == "number":
            return Literal("number", float(token.text) if "." in token.text else int(token.text))
        if token.kind == "datetime":
            return Literal("datetime", parse_sf_datetime(token.text))
        if token.kind == "date":
            return Literal("date", date.fromisoformat(token.text))
        if token.word in ("true", "false"):
            return Literal("boolean", token.word == "true")
        if token.word == "null":
            return Literal("null", None)
        raise self.fail(token)


def parse(text: str) -> Query:
    """The parsed query; :class:`SoqlError` (MALFORMED_QUERY) when it is not valid SOQL."""
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
    return _Parser(text).query()
