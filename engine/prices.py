"""Shipped default prices of well-known upstream models (USD per million tokens), looked up by the
upstream model name; a model's own `price` in cc-proxy.json wins over these.

A name matches the longest key that it starts with, where the key ends at the name's end or at a `-`
(so "claude-sonnet-4-5-20250929" is priced as "claude-sonnet-4-5", and "gpt-4o-mini" never as "gpt-4o").
Sources: Anthropic's and OpenAI's published pricing pages (5-minute cache writes; OpenAI charges no
cache write, so it costs as input).
"""

from __future__ import annotations

from cc_proxy.engine.usage import Price

_OPUS_4 = Price(input=15.0, output=75.0, cache_read=1.5, cache_write=18.75)
_OPUS_45 = Price(input=5.0, output=25.0, cache_read=0.5, cache_write=6.25)
_SONNET = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
_HAIKU_45 = Price(input=1.0, output=5.0, cache_read=0.1, cache_write=1.25)

DEFAULT_PRICES: dict[str, Price] = {
    "claude-opus-4": _OPUS_4,
    "claude-opus-4-0": _OPUS_4,
    "claude-opus-4-1": _OPUS_4,
    "claude-opus-4-5": _OPUS_45,
    "claude-opus-4-6": _OPUS_45,
    "claude-sonnet-4": _SONNET,
    "claude-sonnet-4-5": _SONNET,
    "claude-sonnet-4-6": _SONNET,
    "claude-3-7-sonnet": _SONNET,
    "claude-haiku-4-5": _HAIKU_45,
    "claude-3-5-haiku": Price(input=0.8, output=4.0, cache_read=0.08, cache_write=1.0),
    "claude-3-haiku": Price(input=0.25, output=1.25, cache_read=0.03, cache_write=0.3),
    "gpt-4o": Price(input=2.5, output=10.0, cache_read=1.25, cache_write=2.5),
    "gpt-4o-mini": Price(input=0.15, output=0.6, cache_read=0.075, cache_write=0.15),
    "gpt-4.1": Price(input=2.0, output=8.0, cache_read=0.5, cache_write=2.0),
    "gpt-4.1-mini": Price(input=0.4, output=1.6, cache_read=0.1, cache_write=0.4),
    "gpt-4.1-nano": Price(input=0.1, output=0.4, cache_read=0.025, cache_write=0.1),
}


def default_price(model: str, table: dict[str, Price] = DEFAULT_PRICES) -> Price | None:
    """The shipped price of upstream model `model`, or None (unknown: its cost stays null)."""
    name = model.lower()
    found = table.get(name)
    if found is not None:
        return found
    best: Price | None = None
    best_len = 0
    for key, price in table.items():
        if len(key) > best_len and name.startswith(key) and name[len(key)] == "-":
            best, best_len = price, len(key)
    return best
