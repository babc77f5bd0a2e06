"""Reasoning round trip: proxy signatures, effort clipping, <think> splitting, detail fragments."""

from __future__ import annotations

import base64
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cc_proxy.engine.wire.reasoning import (
    SIGNATURE_PREFIX,
    ThinkTagSplitter,
    budget_to_effort,
    clip_effort,
    is_proxy_signature,
    make_signature,
    merge_detail_fragments,
    read_thinking_block,
)


def test_signature_round_trip_carries_details() -> None:
    details = [{"type": "reasoning.encrypted", "data": "gAAA==", "index": 0}]
    block = {"type": "thinking", "thinking": "why", "signature": make_signature(details)}
    restored = read_thinking_block(block)
    assert restored is not None
    assert restored.text == "why"
    assert restored.details == details


def test_signature_without_details_is_short_and_ours() -> None:
    signature = make_signature(None)
    assert signature == SIGNATURE_PREFIX + "e30"  # base64url of "{}"
    assert is_proxy_signature(signature)
    restored = read_thinking_block({"thinking": "t", "signature": signature})
    assert restored is not None and restored.details is None


@pytest.mark.parametrize(
    "signature",
    [
        "EqQBCgIYAhIkZmFrZS1zaWduYXR1cmU=",  # a real Anthropic-style signature
        "fake-signature-470af49c5c3b4b64b2c92e4004f2cdf9",  # a placeholder from another proxy
        SIGNATURE_PREFIX + "!!!",  # corrupt base64
        SIGNATURE_PREFIX + base64.urlsafe_b64encode(b"[1, 2]").decode(),  # not an object
        SIGNATURE_PREFIX + base64.urlsafe_b64encode(b"{not json").decode(),
        None,
        42,
    ],
)
def test_foreign_or_corrupt_signatures_are_not_ours(signature: object) -> None:
    assert read_thinking_block({"type": "thinking", "thinking": "x", "signature": signature}) is None


def test_signature_is_canonical_for_equal_details() -> None:
    a = [{"type": "reasoning.text", "text": "x", "index": 0}]
    b = [{"index": 0, "text": "x", "type": "reasoning.text"}]
    assert make_signature(a) == make_signature(b)


@pytest.mark.parametrize(
    ("effort", "accepted", "expected"),
    [
        ("medium", ("low", "medium", "high"), "medium"),
        ("max", ("low", "medium", "high"), "high"),
        ("xhigh", ("minimal", "low", "medium", "high", "xhigh"), "xhigh"),
        ("max", ("minimal", "low", "medium", "high", "xhigh"), "xhigh"),
        ("medium", ("low", "high", "max"), "low"),
        ("minimal", ("low", "medium", "high"), "low"),  # below every level: the weakest
        ("turbo", ("low", "medium", "high"), None),  # unknown names are not guessed
        ("low", (), None),
    ],
)
def test_clip_effort(effort: str, accepted: tuple[str, ...], expected: str | None) -> None:
    assert clip_effort(effort, accepted) == expected


@pytest.mark.parametrize(("budget", "effort"), [(1024, "low"), (4096, "medium"), (16383, "medium"), (32000, "high")])
def test_budget_buckets(budget: int, effort: str) -> None:
    assert budget_to_effort(budget) == effort


def test_detail_fragments_fold_by_index() -> None:
    into: list[dict[str, object]] = []
    merge_detail_fragments(into, [{"type": "reasoning.text", "text": "a", "index": 0, "signature": None}])
    merge_detail_fragments(into, [{"type": "reasoning.text", "text": "b", "index": 0}])
    merge_detail_fragments(into, [{"type": "reasoning.text", "text": "", "signature": "sig", "index": 0}])
    merge_detail_fragments(into, [{"type": "reasoning.encrypted", "data": "zz", "index": 1}, "junk"])
    assert into == [
        {"type": "reasoning.text", "text": "ab", "index": 0, "signature": "sig"},
        {"type": "reasoning.encrypted", "data": "zz", "index": 1},
    ]


def _split_all(pieces: list[str]) -> list[tuple[str, str]]:
    splitter = ThinkTagSplitter()
    out: list[tuple[str, str]] = []
    for piece in pieces:
        out.extend(splitter.feed(piece))
    out.extend(splitter.finish())
    merged: list[tuple[str, str]] = []
    for kind, group in itertools.groupby(out, key=lambda p: p[0]):
        merged.append((kind, "".join(t for _, t in group)))
    return merged


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("plain answer", [("text", "plain answer")]),
        ("<think>why</think>\n\nanswer", [("thinking", "why"), ("text", "answer")]),
        ("  \n<think>why</think>answer", [("thinking", "why"), ("text", "answer")]),
        ("<think></think>answer", [("text", "answer")]),
        ("<think>never closed", [("thinking", "never closed")]),
        ("<thinking>not the tag</thinking>", [("text", "<thinking>not the tag</thinking>")]),
        ("a <think>late</think>", [("text", "a <think>late</think>")]),
        ("<thi", [("text", "<thi")]),
        ("  ", [("text", "  ")]),
        ("<think>a</think>   ", [("thinking", "a")]),
    ],
)
def test_think_tags(content: str, expected: list[tuple[str, str]]) -> None:
    assert _split_all([content]) == expected


@given(
    st.lists(st.sampled_from(["<think>", "</think>", "<", "/", "think", ">", " ", "\n", "a", "b<"]), max_size=12),
    st.data(),
)
def test_think_split_is_independent_of_chunking(tokens: list[str], data: st.DataObject) -> None:
    content = "".join(tokens)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(content)), max_size=6)))
    pieces = [content[a:b] for a, b in itertools.pairwise([0, *cuts, len(content)])]
    assert _split_all(pieces) == _split_all([content])
    if not content.lstrip().startswith("<think>"):
        assert _split_all([content]) == ([("text", content)] if content else [])


@pytest.mark.parametrize("content", ["<think>ab</think>\n\ncd", "  <think>a<b</think>c", "<think>x</think"])
def test_think_split_at_every_single_cut(content: str) -> None:
    whole = _split_all([content])
    for cut in range(len(content) + 1):
        assert _split_all([content[:cut], content[cut:]]) == whole, cut
