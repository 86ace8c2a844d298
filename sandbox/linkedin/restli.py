"""Rest.li 2.0 query values, parsed the way LinkedIn's servers parse them.

Protocol 2.0 (https://linkedin.github.io/rest.li/spec/protocol and
https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version):
``(k:v,k2:v2)`` is an object, ``List(a,b)`` a list, and ``( ) , :`` are grammar characters
that must reach the server *unencoded*; reserved characters inside a value (a URN's colons)
must be percent-encoded (``urn%3Ali%3AsponsoredAccount%3A123``); ``''`` is the empty string.

This is a port of Rest.li's own ``URIElementParser``: the value is tokenized while it is
still percent-encoded, so an over-encoded value (``%28sponsoredAccount%3A...%29``) is one
plain string, not an object, and the caller rejects it as an invalid parameter
(linkedin/rest.li#527: ``{"message":"Parameter 'timeIntervals' is invalid","status":400}``).

``lenient_urns`` also accepts an unencoded simple URN inside an object or list
(``List(urn:li:sponsoredCampaign:1)``), which LinkedIn's own adAnalytics examples use and
which users report working (learn.microsoft.com/en-us/answers/questions/2120651).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

GRAMMAR = "(),:"
LIST_START = "List("
EMPTY_STRING = "''"

Value = Any  # str | dict[str, Value] | list[Value]


class RestliSyntaxError(ValueError):
    """The value is not valid Rest.li 2.0 syntax."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "str" or one of "(", ")", ",", ":", "List("
    value: str
    column: int

    def describe(self) -> str:
        return f"'{self.value}' (column {self.column})"


def split_query(raw_query: str) -> list[tuple[str, str]]:
    """``a=1&b=(x:y)`` -> ``[("a", "1"), ("b", "(x:y)")]``: names decoded, values left raw."""
    pairs = []
    for part in raw_query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((percent_decode(name), value))
    return pairs


def percent_decode(raw: str) -> str:
    """Decode ``%XX`` octets as UTF-8 (``+`` stays ``+``, as in Rest.li)."""
    out, i = [], 0
    while i < len(raw):
        if raw[i] != "%":
            out.append(raw[i])
            i += 1
            continue
        octets = bytearray()
        while i < len(raw) and raw[i] == "%":
            hex_pair = raw[i + 1 : i + 3]
            if len(hex_pair) != 2 or not all(c in "0123456789abcdefABCDEF" for c in hex_pair):
                raise RestliSyntaxError(f"invalid percent-encoding at column {i}")
            octets.append(int(hex_pair, 16))
            i += 3
        try:
            out.append(octets.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise RestliSyntaxError(f"invalid UTF-8 in percent-encoding: {exc}") from exc
    return "".join(out)


def _tokenize(raw: str) -> list[_Token]:
    tokens: list[_Token] = []
    start = 0
    for index, char in enumerate(raw):
        if char not in GRAMMAR:
            continue
        chunk = raw[start:index]
        if char == "(" and chunk == "List":
            tokens.append(_Token(LIST_START, LIST_START, start))
        else:
            if chunk:
                tokens.append(_string_token(chunk, start))
            tokens.append(_Token(char, char, index))
        start = index + 1
    if raw[start:]:
        tokens.append(_string_token(raw[start:], start))
    return tokens


def _string_token(chunk: str, column: int) -> _Token:
    value = "" if chunk == EMPTY_STRING else percent_decode(chunk)
    return _Token("str", value, column)


class _Parser:
    def __init__(self, tokens: list[_Token], lenient_urns: bool) -> None:
        self.tokens, self.pos, self.lenient = tokens, 0, lenient_urns

    def peek(self, ahead: int = 0) -> _Token | None:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, kind: str | None = None) -> _Token:
        token = self.peek()
        if token is None:
            raise RestliSyntaxError("unexpected end of input")
        if kind is not None and token.kind != kind:
            raise RestliSyntaxError(f"expected '{kind}' but found {token.describe()}")
        self.pos += 1
        return token

    def element(self, nested: bool) -> Value:
        token = self.peek()
        if token is None:
            raise RestliSyntaxError("unexpected end of input")
        if token.kind == "(":
            return self.mapping()
        if token.kind == LIST_START:
            return self.sequence()
        if token.kind != "str":
            raise RestliSyntaxError(f"unexpected token: {token.describe()} at start of element")
        return self.string(join_urn=nested and self.lenient)

    def string(self, join_urn: bool = False) -> str:
        value = self.take("str").value
        while join_urn and value.startswith("urn") and self._colon_then_string():
            self.pos += 1
            value += ":" + self.take("str").value
        return value

    def _colon_then_string(self) -> bool:
        colon, after = self.peek(), self.peek(1)
        return bool(colon and after and colon.kind == ":" and after.kind == "str")

    def mapping(self) -> dict[str, Value]:
        self.take("(")
        result: dict[str, Value] = {}
        while self.peek() is not None and self.peek().kind != ")":  # type: ignore[union-attr]
            key = self.string()
            self.take(":")
            result[key] = self.element(nested=True)
            if not self._separator():
                break
        self.take(")")
        return result

    def sequence(self) -> list[Value]:
        self.take(LIST_START)
        result: list[Value] = []
        while self.peek() is not None and self.peek().kind != ")":  # type: ignore[union-attr]
            result.append(self.element(nested=True))
            if not self._separator():
                break
        self.take(")")
        return result

    def _separator(self) -> bool:
        token = self.peek()
        if token is not None and token.kind == ",":
            self.pos += 1
            return True
        return False


def parse(raw: str, *, lenient_urns: bool = False) -> Value:
    """Parse one raw (still percent-encoded) Rest.li 2.0 value into str/dict/list."""
    parser = _Parser(_tokenize(raw), lenient_urns)
    value = parser.element(nested=False)
    leftover = parser.peek()
    if leftover is not None:
        raise RestliSyntaxError(
            f"tokens left over after parsing; first excess token: {leftover.describe()}"
        )
    return value


def encode(value: Value) -> str:
    """The Rest.li 2.0 URL form of ``value`` (the inverse of :func:`parse`)."""
    if isinstance(value, dict):
        return "(" + ",".join(f"{encode(str(k))}:{encode(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list | tuple):
        return LIST_START + ",".join(encode(v) for v in value) + ")"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return EMPTY_STRING if text == "" else quote(text, safe="-_.~")


def parse_fields(raw: str) -> dict[str, Any]:
    """A projection ``a,b,form:(x,y)`` -> ``{"a": None, "b": None, "form": {"x": None, ...}}``."""
    text = percent_decode(raw)
    fields, pos = _fields(text, 0)
    if pos != len(text):
        raise RestliSyntaxError(f"unexpected '{text[pos]}' in fields at column {pos}")
    return fields


def _fields(text: str, pos: int) -> tuple[dict[str, Any], int]:
    fields: dict[str, Any] = {}
    while pos < len(text) and text[pos] != ")":
        end = pos
        while end < len(text) and text[end] not in ",:()":
            end += 1
        name, sub = text[pos:end].strip(), None
        if text.startswith(":(", end):
            sub, end = _fields(text, end + 2)
            if end >= len(text) or text[end] != ")":
                raise RestliSyntaxError("unbalanced '(' in fields")
            end += 1
        if name:
            fields[name] = sub
        pos = end + 1 if end < len(text) and text[end] == "," else end
        if end < len(text) and text[end] not in ",)":
            raise RestliSyntaxError(f"unexpected '{text[end]}' in fields at column {end}")
    return fields, pos


class ParamError(ValueError):
    """A query parameter is missing or not of the expected Rest.li type (a 400)."""

    def __init__(self, name: str, message: str | None = None) -> None:
        super().__init__(message or f"Parameter '{name}' is invalid")
        self.name = name


class Query:
    """The raw query of one request, read with Rest.li types.

    Without ``X-Restli-Protocol-Version: 2.0.0`` LinkedIn falls back to protocol 1.0
    (protocol-version page), where ``(k:v)`` / ``List(..)`` mean nothing: ``protocol2=False``
    makes every object or list parameter invalid.
    """

    def __init__(self, raw_query: str, *, lenient_urns: bool = False, protocol2: bool = True):
        self.pairs = split_query(raw_query)
        self._values: dict[str, str] = {}
        for name, value in self.pairs:
            self._values.setdefault(name, value)
        self.lenient_urns, self.protocol2 = lenient_urns, protocol2

    def raw(self, name: str) -> str | None:
        return self._values.get(name)

    def value(self, name: str, *, required: bool = False) -> Value | None:
        raw = self._values.get(name)
        if raw is None or raw == "":
            if required:
                raise ParamError(name, f"Parameter '{name}' is required")
            return None
        if not self.protocol2:
            return percent_decode(raw)
        try:
            return parse(raw, lenient_urns=self.lenient_urns)
        except RestliSyntaxError as exc:
            raise ParamError(name) from exc

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self.value(name, required=required)
        if value is not None and not isinstance(value, str):
            raise ParamError(name)
        return value

    def mapping(self, name: str, *, required: bool = False) -> dict[str, Value] | None:
        value = self.value(name, required=required)
        if value is not None and not isinstance(value, dict):
            raise ParamError(name)
        return value

    def strings(self, name: str) -> list[str] | None:
        value = self.value(name)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise ParamError(name)
        return value

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        text = self.string(name)
        if text is None:
            return default
        if not text.lstrip("-").isdigit() or int(text) < minimum:
            raise ParamError(name)
        return int(text)

    def boolean(self, name: str, default: bool) -> bool:
        text = self.string(name)
        if text is None:
            return default
        if text not in ("true", "false"):
            raise ParamError(name)
        return text == "true"
