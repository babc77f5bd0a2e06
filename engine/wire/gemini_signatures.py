"""Gemini thought signatures and call ids, carried through the client with no server state.

Gemini 3 rejects a function-calling turn whose `functionCall` parts do not come back with the
`thoughtSignature` they were answered with (400 "Function call is missing a thought_signature"), and
`functionResponse.id` must repeat the call's own `id` when Gemini gave one. Claude Code sends every
tool_use id back verbatim (in the assistant turn and in its tool_result), so a call's signature and
id travel inside the tool_use id:

    "toolu_g1" + base64url_without_padding(compact_json({"i"?: gemini id, "n"?: ours, "s"?: signature}))

(`n`, a minted id, keeps two calls unique when Gemini gave neither id nor signature to tell them
apart; a call with neither gets a plain minted id). base64url fits Anthropic's `^[a-zA-Z0-9_-]+$`, so
the id stays valid if the conversation later goes to another upstream.

Signatures on thought and text parts travel in a thinking block's proxy signature
(`engine.wire.reasoning`, payload `"t"`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import orjson

TOOL_ID_PREFIX = "toolu_g1"


def encode_tool_id(call_id: str | None, signature: str | None, new_id: Callable[[str], str]) -> str:
    if not call_id and not signature:
        return new_id("toolu_")
    payload: dict[str, str] = {"i": call_id} if call_id else {"n": new_id("")}
    if signature:
        payload["s"] = signature
    raw = base64.urlsafe_b64encode(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).rstrip(b"=")
    return TOOL_ID_PREFIX + raw.decode("ascii")


def decode_tool_id(tool_id: Any) -> tuple[str | None, str | None]:
    """(Gemini's call id, thought signature) carried by one of our tool_use ids; (None, None) for any
    other id (minted, or from another upstream: nothing to restore)."""
    if not isinstance(tool_id, str) or not tool_id.startswith(TOOL_ID_PREFIX):
        return None, None
    encoded = tool_id[len(TOOL_ID_PREFIX) :]
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, binascii.Error):
        return None, None
    if not isinstance(payload, dict):
        return None, None
    call_id, signature = payload.get("i"), payload.get("s")
    return (call_id if isinstance(call_id, str) else None), (signature if isinstance(signature, str) else None)
