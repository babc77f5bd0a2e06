"""engine.context_fit: where a request's input fits, and what an upstream's overflow error says."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from cc_proxy.engine.context_fit import clamp_max_tokens, fit, overflow_tokens, roomier
from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.features import Features
from cc_proxy.engine.load import SourceFile, build_snapshot, parse_config
from cc_proxy.engine.snapshot import Snapshot


class WordCounter:
    """An estimator stand-in with a known answer: one token per word of the user's text."""

    def count(self, request: Any) -> int:
        return sum(len(str(m["content"]).split()) for m in request["messages"])


def snapshot(routes: dict[str, Any]) -> Snapshot:
    config = {
        "providers": {"p": {"format": "anthropic", "base_url": "https://p.example", "api_key": "k"}},
        "models": {
            "small": {"provider": "p", "context": 600},
            "mid": {"provider": "p", "context": 2000},
            "open": {"provider": "p"},
            "long": {"provider": "p", "context": "1M"},
        },
        "routes": routes,
        "rules": [],
    }
    return build_snapshot(parse_config(SourceFile("c.json", orjson.dumps(config))), [], {})


def features(words: int, max_tokens: int = 1000) -> Features:
    request = {"model": "m", "max_tokens": max_tokens, "messages": [{"role": "user", "content": "w " * words}]}
    return Features(request, {}, WordCounter())  # type: ignore[arg-type]


def test_a_small_request_is_settled_by_its_size_without_a_count() -> None:
    snap = snapshot({"default": {"model": "mid", "fallbacks": ["small"]}})
    f = features(5)
    found = fit(snap, f, snap.models["mid"], (snap.models["small"],))
    assert (found.target.alias, [m.alias for m in found.fallbacks], found.reason) == ("mid", ["small"], None)
    assert not f.tokens_computed


def test_the_first_fallback_that_fits_then_long_context() -> None:
    snap = snapshot({"default": {"model": "small", "fallbacks": ["mid", "open"]}, "longContext": "long"})
    found = fit(snap, features(1500), snap.models["small"], (snap.models["mid"], snap.models["open"]))
    assert (found.target.alias, [m.alias for m in found.fallbacks]) == ("mid", ["open", "long"])
    assert found.reason == "~1500 input tokens exceed small's context 600: mid (context 2000)"
    found = fit(snap, features(5000), snap.models["small"], (snap.models["mid"],))
    assert found.target.alias == "long"


def test_nothing_fits_is_anthropics_400() -> None:
    snap = snapshot({"default": "small"})
    with pytest.raises(ProxyError) as caught:
        fit(snap, features(700), snap.models["small"], ())
    assert (caught.value.status, caught.value.error_type) == (400, "invalid_request_error")
    assert caught.value.message == "prompt is too long: 700 tokens > 600 maximum"


def test_max_tokens_is_clamped_to_what_the_context_leaves() -> None:
    snap = snapshot({"default": "small"})
    request: dict[str, Any] = {"max_tokens": 1000}
    clamp_max_tokens(request, snap.models["small"], features(500))
    assert request["max_tokens"] == 100
    request = {"max_tokens": 50}
    clamp_max_tokens(request, snap.models["small"], features(500))
    assert request["max_tokens"] == 50


@pytest.mark.parametrize(
    ("message", "tokens"),
    [
        ("prompt is too long: 9000 tokens > 8000 maximum", 9000),
        ("prompt is too long: the upstream said so", -1),
        ("Overloaded", None),
    ],
)
def test_overflow_tokens(message: str, tokens: int | None) -> None:
    assert overflow_tokens({"type": "error", "error": {"type": "invalid_request_error", "message": message}}) == tokens


def test_roomier_needs_a_larger_configured_context() -> None:
    snap = snapshot({"default": "small"})
    small, mid, open_, long = (snap.models[a] for a in ("small", "mid", "open", "long"))
    assert roomier(small, (open_, mid, long), 1500) is mid
    assert roomier(small, (open_, mid, long), 2500) is long
    assert roomier(mid, (small,), -1) is None
    assert roomier(open_, (mid,), -1) is None  # neither a count nor a context to compare with
