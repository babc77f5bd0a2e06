"""Reliability C3, duplicate keys: refused with a 400 wherever they are, whichever way the body is written.

server/request_body.py checks in two ways. Bytes exactly as orjson would write them take the fast path;
anything else (spaces, escapes) is scanned by the standard parser. Hypothesis writes random bodies
both ways, with and without one repeated key, and the verdicts must agree with what was written.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc_proxy.engine.errors import ProxyError
from cc_proxy.server.request_body import parse_json_object

KEYS = st.sampled_from(["model", "role", "content", "type", "text", "é", "日本", "a\nb", 'q"uote'])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=20,
)
BODIES = st.dictionaries(KEYS, VALUES, min_size=1, max_size=5)


def write(value: Any, *, pretty: bool, repeat: list[bool]) -> bytes:
    """JSON for `value`; compact is byte for byte orjson's output. `repeat[0]` set: the first object
    written with a key gets that key a second time (with a different value), once in the document."""
    sep, colon = (b", ", b": ") if pretty else (b",", b":")
    if isinstance(value, dict):
        members = [orjson.dumps(key) + colon + write(item, pretty=pretty, repeat=repeat) for key, item in value.items()]
        if members and repeat[0]:
            repeat[0] = False
            first = next(iter(value))
            members.append(orjson.dumps(first) + colon + b'"the second value"')
        return b"{" + sep.join(members) + b"}"
    if isinstance(value, list):
        return b"[" + sep.join(write(item, pretty=pretty, repeat=repeat) for item in value) + b"]"
    return orjson.dumps(value)


@settings(max_examples=300, deadline=None)
@given(body=BODIES, pretty=st.booleans())
def test_bodies_without_a_repeated_key_parse_as_written(body: dict[str, Any], pretty: bool) -> None:
    raw = write(body, pretty=pretty, repeat=[False])
    if not pretty:
        assert raw == orjson.dumps(body)  # the fast path's premise
    assert parse_json_object(raw) == orjson.loads(raw)


@settings(max_examples=300, deadline=None)
@given(body=BODIES, pretty=st.booleans())
def test_a_repeated_key_anywhere_is_a_400_naming_it(body: dict[str, Any], pretty: bool) -> None:
    raw = write(body, pretty=pretty, repeat=[True])
    with pytest.raises(ProxyError) as caught:
        parse_json_object(raw)
    assert caught.value.status == 400 and caught.value.error_type == "invalid_request_error"
    assert "twice in one object" in str(caught.value)


def test_the_message_names_the_key_and_cuts_a_long_one() -> None:
    with pytest.raises(ProxyError, match='the key "max_tokens" twice'):
        parse_json_object(b'{"max_tokens":1,"max_tokens":2}')
    long = "k" * 500
    with pytest.raises(ProxyError) as caught:
        parse_json_object(orjson.dumps({"a": 1})[:-1] + b',"' + long.encode() + b'":1,"' + long.encode() + b'":2}')
    assert '"' + "k" * 64 + '..."' in str(caught.value) and long not in str(caught.value)
