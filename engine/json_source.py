"""A strict JSON parser that remembers where every value came from.

Config errors must name `file:line:col` for a JSON path (`$.providers.openai.base_url`), so parsing
records the offset of each member's key and each array element while it builds the value. It is
iterative (a 5,000-deep document is an error, never a RecursionError), rejects duplicate keys, and
explains common editing mistakes (trailing comma, comment, truncated file) in words.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 100  # deepest legitimate document: rules nesting all/any/not 32 levels (2 JSON levels each)
MAX_NUMBER_LENGTH = 100

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


def key_path(parent: str, key: str) -> str:
    """JSON path of a member: `$.a.b` for identifier keys, `$.a['x-y']` otherwise (as engine.rules does)."""
    if _IDENT.fullmatch(key):
        return f"{parent}.{key}"
    return f"{parent}[{key!r}]"


def index_path(parent: str, index: int) -> str:
    return f"{parent}[{index}]"


class JsonSyntaxError(ValueError):
    def __init__(self, code: str, message: str, offset: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.offset = offset


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    json_path: str
    key: str
    offset: int


@dataclass(frozen=True, slots=True)
class ParsedJson:
    value: Any
    text: str
    positions: Mapping[str, int]  # json path -> offset of the member's key / the element / the root
    duplicates: tuple[DuplicateKey, ...] = ()
    _line_starts: tuple[int, ...] = field(default=(), repr=False)

    def line_col(self, offset: int) -> tuple[int, int]:
        return line_col(self._line_starts or _line_starts(self.text), offset)

    def locate(self, json_path: str) -> tuple[int, int] | None:
        """Line and column of a path; a path we did not record (a key inside a value) falls back to the
        nearest recorded ancestor."""
        path = json_path
        while path:
            offset = self.positions.get(path)
            if offset is not None:
                return self.line_col(offset)
            cut = max(path.rfind("."), path.rfind("["))
            if cut <= 0:
                break
            path = path[:cut]
        offset = self.positions.get("$")
        return self.line_col(offset) if offset is not None else None


def _line_starts(text: str) -> tuple[int, ...]:
    return (0, *(m.end() for m in re.finditer("\n", text)))


def line_col(starts: tuple[int, ...], offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of an offset."""
    line = bisect.bisect_right(starts, offset) - 1
    return line + 1, offset - starts[line] + 1


def _describe(text: str, pos: int) -> str:
    if pos >= len(text):
        return "end of file"
    ch = text[pos]
    return repr(ch) if ch.isprintable() else f"character U+{ord(ch):04X}"


def _unexpected(text: str, pos: int, expected: str) -> JsonSyntaxError:
    if pos >= len(text):
        return JsonSyntaxError("json-truncated", f"unexpected end of file, expected {expected} (truncated?)", pos)
    if text.startswith(("//", "/*"), pos):
        return JsonSyntaxError("json-syntax", "comments are not allowed in JSON", pos)
    if text[pos] == "'":
        return JsonSyntaxError("json-syntax", "strings use double quotes in JSON", pos)
    return JsonSyntaxError("json-syntax", f"expected {expected}, found {_describe(text, pos)}", pos)


def _bad_string(text: str, start: int) -> JsonSyntaxError:
    """Locate why a string starting at `start` did not match."""
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            break
        if ch == "\\":
            if not re.match(r'\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})', text[i : i + 6]):
                return JsonSyntaxError("json-syntax", "invalid escape in string", i)
            i += 2
            continue
        if ord(ch) < 0x20:
            return JsonSyntaxError("json-syntax", "unterminated string (control character or newline inside)", i)
        i += 1
    return JsonSyntaxError("json-truncated", "unterminated string (truncated?)", start)


def _scan_string(text: str, pos: int) -> tuple[str, int]:
    m = _STRING.match(text, pos)
    if m is None:
        raise _bad_string(text, pos)
    raw = m.group()
    value = json.loads(raw) if "\\" in raw else raw[1:-1]
    return value, m.end()


def _scan_scalar(text: str, pos: int) -> tuple[Any, int]:
    ch = text[pos] if pos < len(text) else ""
    if ch == '"':
        return _scan_string(text, pos)
    if ch == "-" or ch.isdigit():
        m = _NUMBER.match(text, pos)
        if m is None:
            raise _unexpected(text, pos, "a value")
        raw = m.group()
        if len(raw) > MAX_NUMBER_LENGTH:
            raise JsonSyntaxError("json-syntax", f"number longer than {MAX_NUMBER_LENGTH} characters", pos)
        number: Any = int(raw) if re.fullmatch(r"-?[0-9]+", raw) else float(raw)
        return number, m.end()
    for word, value in _LITERALS.items():
        if text.startswith(word, pos):
            return value, pos + len(word)
    raise _unexpected(text, pos, "a value")


class _Frame:
    __slots__ = ("container", "key", "path", "seen")

    def __init__(self, container: dict[str, Any] | list[Any], path: str) -> None:
        self.container = container
        self.path = path
        self.key: str | None = None  # object frames: the member being parsed
        self.seen: set[str] = set()


def parse_json(text: str, *, max_depth: int = MAX_DEPTH) -> ParsedJson:
    """Parse one JSON document. Raises JsonSyntaxError (first syntax problem, with its offset);
    duplicate keys are collected (the last value wins) and returned for the caller to report."""
    positions: dict[str, int] = {}
    duplicates: list[DuplicateKey] = []
    stack: list[_Frame] = []
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if pos >= len(text):
        raise JsonSyntaxError("json-empty", "the file is empty: expected a JSON object", pos)
    positions["$"] = pos
    root: Any = None

    def attach(value: Any) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        top = stack[-1]
        if isinstance(top.container, list):
            top.container.append(value)
        else:
            assert top.key is not None
            top.container[top.key] = value

    def child_path(top: _Frame) -> str:
        if isinstance(top.container, list):
            return index_path(top.path, len(top.container))
        assert top.key is not None
        return key_path(top.path, top.key)

    def open_value(at: int) -> int:
        """Parse the value starting at `at`: scalars completely, containers are pushed."""
        path = child_path(stack[-1]) if stack else "$"
        ch = text[at] if at < len(text) else ""
        if ch and ch in "{[":
            if len(stack) >= max_depth:
                raise JsonSyntaxError("json-too-deep", f"nested deeper than {max_depth} levels", at)
            container: dict[str, Any] | list[Any] = {} if ch == "{" else []
            attach(container)
            stack.append(_Frame(container, path))
            return at + 1
        value, end = _scan_scalar(text, at)
        attach(value)
        return end

    def ws(at: int) -> int:
        return _WS.match(text, at).end()  # type: ignore[union-attr]

    pos = open_value(pos)
    expect_item = True  # right after `{`/`[` or `,`: a member/element (or a close, if right after the opener)
    just_opened = bool(stack)
    while stack:
        pos = ws(pos)
        top = stack[-1]
        is_object = isinstance(top.container, dict)
        closer = "}" if is_object else "]"
        if expect_item:
            if pos < len(text) and text[pos] == closer:
                if not just_opened:
                    raise JsonSyntaxError("json-syntax", f"trailing comma before {closer!r}", pos)
                stack.pop()
                pos += 1
                expect_item, just_opened = False, False
                continue
            if is_object:
                if pos >= len(text) or text[pos] != '"':
                    raise _unexpected(text, pos, "a member name in double quotes")
                key_at = pos
                key, pos = _scan_string(text, pos)
                pos = ws(pos)
                if pos >= len(text) or text[pos] != ":":
                    raise _unexpected(text, pos, "':' after the member name")
                pos = ws(pos + 1)
                member_path = key_path(top.path, key)
                if key in top.seen:
                    duplicates.append(DuplicateKey(member_path, key, key_at))
                else:
                    top.seen.add(key)
                    positions[member_path] = key_at
                top.key = key
            else:
                positions[index_path(top.path, len(top.container))] = pos
            before = len(stack)
            pos = open_value(pos)
            just_opened = len(stack) > before
            expect_item = just_opened
            continue
        # after a member/element: `,` or the closer
        if pos < len(text) and text[pos] == ",":
            pos += 1
            expect_item, just_opened = True, False
        elif pos < len(text) and text[pos] == closer:
            stack.pop()
            pos += 1
        elif pos < len(text) and (text[pos] in '"{[-' or text[pos].isdigit()):
            between = "members" if is_object else "elements"
            raise JsonSyntaxError("json-syntax", f"missing ',' between {between}", pos)
        else:
            raise _unexpected(text, pos, f"',' or {closer!r}")
    pos = ws(pos)
    if pos < len(text):
        raise JsonSyntaxError("json-syntax", f"unexpected {_describe(text, pos)} after the JSON value", pos)
    return ParsedJson(root, text, positions, tuple(duplicates), _line_starts(text))
