"""GAQL text to a :class:`Query`: the tokenizer and parser of the Google Ads sandbox.

Docs used: https://developers.google.com/google-ads/api/docs/query/grammar (clauses, operators,
values) and https://developers.google.com/google-ads/api/reference/rpc/v24/QueryErrorEnum.QueryError
(error codes). Syntax only: which fields and resources exist, and what the values mean, is
``leadflow.sandbox.google_ads.gaql``'s. Shape accepted: ``SELECT f, ... FROM r [WHERE c AND ...]
[ORDER BY f [ASC|DESC], ...] [LIMIT n]`` with ``= != > >= < <= IN NOT IN BETWEEN DURING``; other
valid GAQL (LIKE, CONTAINS, IS NULL, REGEXP_MATCH, PARAMETERS) gets QUERY_ERROR "not implemented
in the sandbox".
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KEYWORDS = frozenset(("SELECT", "FROM", "WHERE", "AND", "ORDER", "BY", "ASC", "DESC", "LIMIT",
    "IN", "NOT", "BETWEEN", "DURING", "LIKE", "IS", "NULL", "CONTAINS", "REGEXP_MATCH",
    "PARAMETERS"))  # fmt: skip
NOT_IMPLEMENTED = ("LIKE", "IS", "CONTAINS", "REGEXP_MATCH", "PARAMETERS")
TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")|(?P<op>!=|>=|<=|=|>|<)"
    r"|(?P<punct>[,()])|(?P<number>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
FIELD_NAME, RESOURCE_NAME = re.compile(r"[a-z][a-zA-Z0-9._]*"), re.compile(r"[a-z][a-zA-Z0-9_]*")
COMPARE = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge}  # fmt: skip


class GaqlError(Exception):
    """A QueryError enum value plus a message, as GoogleAdsError reports it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Value:
    kind: str  # "string" | "number" | "word"
    text: str


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    values: tuple[Value, ...]


@dataclass
class Query:
    select: list[str]
    resource: str
    where: list[Condition] = field(default_factory=list)
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    limit: int | None = None


# -- parsing -------------------------------------------------------------------------------------
def tokenize(text: str) -> list[Value]:
    tokens, i = [], 0
    while text[i:].strip():
        found = TOKEN.match(text, i)
        if found is None or found.lastgroup is None:
            rest = text[i:].lstrip()
            if rest[0] in "'\"":
                code = "PROHIBITED_NEWLINE_IN_STRING" if "\n" in rest else "STRING_NOT_TERMINATED"
                raise GaqlError(code, f"Query contains an invalid string: {rest[:20]!r}.")
            raise GaqlError("BAD_SYMBOL", f"Unexpected symbol {rest[0]!r} in the query.")
        kind, token = found.lastgroup, found.group(found.lastgroup)
        if kind == "string":
            if re.search(r"\\[^\\'\"]", token):
                raise GaqlError("BAD_ESCAPE_SEQUENCE", f"Invalid escape sequence in {token}.")
            token = re.sub(r"\\(.)", r"\1", token[1:-1])
        elif kind == "word" and token.upper() in KEYWORDS:
            kind, token = "keyword", token.upper()
        tokens.append(Value(kind, token))
        i = found.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[Value]) -> None:
        self.tokens, self.i = tokens, 0

    def at(self, *texts: str) -> bool:
        return self.i < len(self.tokens) and self.tokens[self.i].text in texts

    def take(self) -> Value:
        if self.i >= len(self.tokens):
            raise GaqlError("UNEXPECTED_END_OF_QUERY", "Query is incomplete and cannot be parsed.")
        self.i += 1
        return self.tokens[self.i - 1]

    def expect(self, text: str, code: str) -> None:
        if not self.at(text):
            raise GaqlError(code, f"Expected {text} in the query.")
        self.i += 1

    def name(self, pattern: re.Pattern[str] = FIELD_NAME, code: str = "BAD_FIELD_NAME") -> str:
        token = self.take()
        if token.kind != "word" or not pattern.fullmatch(token.text):
            raise GaqlError(code, f"Invalid name {token.text!r} in the query.")
        return token.text

    def many(self, item: Callable[[], Any], separator: str = ",") -> list[Any]:
        found = [item()]
        while self.at(separator):
            self.i += 1
            found.append(item())
        return found

    def parse(self) -> Query:
        self.expect("SELECT", "EXPECTED_SELECT")
        select = self.many(self.name)
        self.expect("FROM", "EXPECTED_FROM")
        query = Query(select, self.name(RESOURCE_NAME, "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"))
        if self.at("WHERE"):
            self.i += 1
            query.where = self.many(self.condition, "AND")
        if self.at("ORDER"):
            self.i += 1
            self.expect("BY", "EXPECTED_BY")
            query.order_by = self.many(self.ordering)
        if self.at("LIMIT"):
            self.i += 1
            limit = self.take().text
            if not limit.isdigit():
                raise GaqlError("BAD_LIMIT_VALUE", f"Limit value {limit!r} is invalid.")
            if int(limit) < 1:
                raise GaqlError("LIMIT_VALUE_TOO_LOW", "The value passed to LIMIT is too low.")
            query.limit = int(limit)
        if self.at("PARAMETERS"):
            raise GaqlError("QUERY_ERROR", "PARAMETERS is not implemented in the sandbox.")
        if self.i < len(self.tokens):
            raise GaqlError("UNEXPECTED_INPUT", f"Unexpected input {self.take().text!r}.")
        return query

    def ordering(self) -> tuple[str, bool]:
        name = self.name()
        direction = self.take().text if self.at("ASC", "DESC") else "ASC"
        return name, direction == "DESC"

    def condition(self) -> Condition:
        name, token = self.name(), self.take()
        op = token.text
        if op == "NOT" and self.at("IN"):
            op = "NOT " + self.take().text
        if op in NOT_IMPLEMENTED or (op == "NOT" and self.at("LIKE", "REGEXP_MATCH")):
            raise GaqlError("QUERY_ERROR", f"The {op} operator is not implemented in the sandbox.")
        if token.kind not in ("op", "keyword") or op not in (*COMPARE, "IN", "NOT IN", "BETWEEN",
                                                             "DURING"):  # fmt: skip
            raise GaqlError("BAD_OPERATOR", f"Invalid operator {op!r} in the query.")
        if op == "BETWEEN":
            if not self.i < len(self.tokens) or self.at("AND"):
                raise GaqlError("EXPECTED_VALUE_WITH_BETWEEN_OPERATOR", "BETWEEN needs 2 values.")
            low = self.value()
            self.expect("AND", "EXPECTED_AND")
            return Condition(name, op, (low, self.value()))
        if op.endswith("IN"):
            self.expect("(", "EXPECTED_LIST")
            values = self.many(self.value)
            self.expect(")", "UNEXPECTED_INPUT")
            return Condition(name, op, tuple(values))
        if self.at("("):
            raise GaqlError("EXPECTED_SINGLE_VALUE", f"Operator {op} expects a single value.")
        return Condition(name, op, (self.value(),))

    def value(self) -> Value:
        token = self.take()
        if token.kind in ("string", "number") or (token.kind == "word" and "." not in token.text):
            return token
        if token.text == ")":
            raise GaqlError("PROHIBITED_EMPTY_LIST_IN_CONDITION", "A condition has an empty list.")
        raise GaqlError("BAD_VALUE", f"Invalid value {token.text!r} in the query.")


def parse(text: str) -> Query:
    """Parse GAQL text (syntax only); raise :class:`GaqlError` like Google's QueryError."""
    return _Parser(tokenize(text)).parse()
