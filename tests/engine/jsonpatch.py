"""RFC 6902 JSON Patch (add, remove, replace) for golden cases: expected requests are written as the
few changes to a ~50 KB Claude Code request rather than a copy of it."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any


def _tokens(pointer: str) -> list[str]:
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer must start with '/': {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def apply_patch(document: Any, ops: Sequence[dict[str, Any]]) -> Any:
    doc = copy.deepcopy(document)
    for op in ops:
        *parents, last = _tokens(op["path"])
        node = doc
        for token in parents:
            node = node[int(token)] if isinstance(node, list) else node[token]
        kind = op["op"]
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            if kind == "add":
                node.insert(index, copy.deepcopy(op["value"]))
            elif kind == "remove":
                del node[index]
            elif kind == "replace":
                node[index] = copy.deepcopy(op["value"])
            else:
                raise ValueError(f"unsupported op {kind!r}")
        else:
            if kind in ("remove", "replace") and last not in node:
                raise KeyError(f"{op['path']} does not exist")
            if kind == "add" and last in node:
                raise KeyError(f"{op['path']} already exists: use replace")
            if kind == "remove":
                del node[last]
            elif kind in ("add", "replace"):
                node[last] = copy.deepcopy(op["value"])
            else:
                raise ValueError(f"unsupported op {kind!r}")
    return doc
