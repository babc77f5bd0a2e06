"""Anthropic thinking blocks carried through a Responses client as `reasoning` items.

Responses clients that send `store: false` (Codex) keep reasoning items and echo them on the next
turn, `encrypted_content` included. Anthropic needs the signed thinking block of a turn back with its
tool results, so the block travels inside `encrypted_content`, opaque to the client: `ccproxy.r1.`
then base64url JSON of the block. Items the proxy did not make have nothing Anthropic can verify and
are dropped.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

PREFIX = "ccproxy.r1."


def seal(block: dict[str, Any]) -> str:
    """A thinking or redacted_thinking block as `encrypted_content`."""
    return PREFIX + base64.urlsafe_b64encode(orjson.dumps(block)).decode("ascii")


def unseal(content: Any) -> dict[str, Any] | None:
    """The block `seal` made, or None for anything else (another server's reasoning, corrupt data)."""
    if not isinstance(content, str) or not content.startswith(PREFIX):
        return None
    try:
        block = orjson.loads(base64.urlsafe_b64decode(content[len(PREFIX) :]))
    except (binascii.Error, ValueError):
        return None
    if isinstance(block, dict) and block.get("type") in ("thinking", "redacted_thinking"):
        return block
    return None
