"""Request paths for rewrite rules: `metadata.user_id`, `tools[*].cache_control`, `messages[-1].content`.

A path is parsed once at load into segments: a key (str), an index (int, negative counts from the end)
or WILDCARD (`[*]`, every element). Updates are copy-on-write along the touched path only: a ~100 KB
request shares every untouched subtree with its input, and an update that changes nothing returns the
very same object (callers compare with `is`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final


class _Wildcard:
    __slots__ = ()

    def __repr__(self) -> str:
        return "[*]"


WILDCARD: Final = _Wildcard()
Segment = str | int | _Wildcard
Path = tuple[Segment, ...]

MAX_PATH_LENGTH = 1024
MAX_SEGMENTS = 64  # updates recurse once per segment


class PathError(ValueError):
    """A malformed path; `position` is the 0-based offset of the problem in the path text."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def parse_path(text: str) -> Path:
    """`a.b[*].c[0]` -> ("a", "b", WILDCARD, "c", 0). Keys are any characters but `.`, `[` and `]`."""
    if not text:
        raise PathError("empty path", 0)
    if len(text) > MAX_PATH_LENGTH:
        raise PathError(f"path longer than {MAX_PATH_LENGTH} characters", MAX_PATH_LENGTH)
    segments: list[Segment] = []
    i, n = 0, len(text)
    expect_key = True  # at the start and after a dot a key must follow
    while i < n:
        ch = text[i]
        if ch == "[":
            if not segments and expect_key:
                raise PathError("a path starts with a key", i)
            end = text.find("]", i)
            if end < 0:
                raise PathError("unclosed '['", i)
            inner = text[i + 1 : end]
            if inner == "*":
                segments.append(WILDCARD)
            else:
                try:
                    segments.append(int(inner))
                except ValueError:
                    raise PathError(f"index must be an integer or '*', not {inner!r}", i + 1) from None
            i = end + 1
            expect_key = False
            if i < n and text[i] not in ".[":
                raise PathError(f"expected '.' or '[' after ']', got {text[i]!r}", i)
        elif ch == ".":
            if expect_key:
                raise PathError("empty key", i)
            i += 1
            expect_key = True
            if i == n:
                raise PathError("path ends with '.'", i)
        elif ch == "]":
            raise PathError("unmatched ']'", i)
        else:
            if not expect_key:
                raise PathError("expected '.' before a key", i)
            start = i
            while i < n and text[i] not in ".[]":
                i += 1
            segments.append(text[start:i])
            expect_key = False
    if len(segments) > MAX_SEGMENTS:
        raise PathError(f"path has more than {MAX_SEGMENTS} segments", 0)
    return tuple(segments)


def format_path(path: Path) -> str:
    out: list[str] = []
    for seg in path:
        if isinstance(seg, str):
            out.append(("." if out else "") + seg)
        elif isinstance(seg, int):
            out.append(f"[{seg}]")
        else:
            out.append("[*]")
    return "".join(out)


_MISSING: Final = object()

# leaf(container, last_segment) -> new container, or the same one when nothing changes.
_Leaf = Callable[[Any, Segment], Any]


def _update(node: Any, path: Path, i: int, leaf: _Leaf, create: bool) -> Any:
    seg = path[i]
    if i == len(path) - 1:
        return leaf(node, seg)
    if isinstance(seg, str):
        if not isinstance(node, dict):
            return node
        child = node.get(seg, _MISSING)
        if child is _MISSING:
            if not (create and isinstance(path[i + 1], str)):
                return node
            child = {}
        new = _update(child, path, i + 1, leaf, create)
        if new is child:
            return node
        out = dict(node)
        out[seg] = new
        return out
    if not isinstance(node, list):
        return node
    if isinstance(seg, int):
        if not -len(node) <= seg < len(node):
            return node
        child = node[seg]
        new = _update(child, path, i + 1, leaf, create)
        if new is child:
            return node
        out_list = list(node)
        out_list[seg] = new
        return out_list
    result = node
    for idx, child in enumerate(node):
        new = _update(child, path, i + 1, leaf, create)
        if new is not child:
            if result is node:
                result = list(node)
            result[idx] = new
    return result


def _delete_leaf(node: Any, seg: Segment) -> Any:
    if isinstance(seg, str):
        if isinstance(node, dict) and seg in node:
            out = dict(node)
            del out[seg]
            return out
        return node
    if not isinstance(node, list) or not node:
        return node
    if isinstance(seg, int):
        if -len(node) <= seg < len(node):
            out_list = list(node)
            del out_list[seg]
            return out_list
        return node
    return []  # `xs[*]` as the last segment: remove every element


def delete_path(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """A copy of `data` without `path`; `data` itself when the path is absent."""
    result: dict[str, Any] = _update(data, path, 0, _delete_leaf, create=False)
    return result


def set_path(data: dict[str, Any], path: Path, make_value: Callable[[], Any]) -> dict[str, Any]:
    """A copy of `data` with `path` set to a fresh `make_value()`.

    Missing objects along key segments are created; an index out of range or a value of the wrong type
    on the way leaves `data` alone. `make_value` is called once per written location, so a literal from
    the config is never shared between requests (or between the elements `[*]` writes to).
    """

    def leaf(node: Any, seg: Segment) -> Any:
        if isinstance(seg, str):
            if not isinstance(node, dict):
                return node
            out = dict(node)
            out[seg] = make_value()
            return out
        if not isinstance(node, list):
            return node
        if isinstance(seg, int):
            if not -len(node) <= seg < len(node):
                return node
            out_list = list(node)
            out_list[seg] = make_value()
            return out_list
        return [make_value() for _ in node]

    result: dict[str, Any] = _update(data, path, 0, leaf, create=True)
    return result
