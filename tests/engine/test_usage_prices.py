"""Usage read from Anthropic usage objects, prices looked up by upstream model name, costs."""

from __future__ import annotations

import pytest

from cc_proxy.engine.load import SourceFile, build_snapshot, parse_config
from cc_proxy.engine.prices import DEFAULT_PRICES, default_price
from cc_proxy.engine.snapshot import Snapshot
from cc_proxy.engine.usage import Price, Usage, cost_usd, usage_from_anthropic


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("CLAUDE-HAIKU-4-5", "claude-haiku-4-5"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
    ],
)
def test_a_dated_name_gets_its_family_price(name: str, key: str) -> None:
    assert default_price(name) is DEFAULT_PRICES[key]


@pytest.mark.parametrize("name", ["claude-sonnet-45", "my-local-llama", "gpt-4oo", ""])
def test_an_unknown_name_has_no_price(name: str) -> None:
    assert default_price(name) is None


def test_usage_ignores_junk_and_cost_is_null_when_unknown() -> None:
    usage = usage_from_anthropic(
        {"input_tokens": 10, "output_tokens": "7", "cache_read_input_tokens": -1, "cache_creation_input_tokens": True}
    )
    assert usage == Usage(input=10)
    assert usage_from_anthropic(None) is None
    assert cost_usd(usage, None) is None and cost_usd(None, Price(1, 1, 1, 1)) is None
    assert cost_usd(Usage(), Price(1, 1, 1, 1)) == 0.0  # priced and no tokens: a real zero
    full = Usage(input=1_000_000, output=2_000_000, cache_read=3_000_000, cache_write=4_000_000)
    assert cost_usd(full, Price(1, 2, 0.5, 1.25)) == pytest.approx(1 + 4 + 1.5 + 5)


def load_config_bytes(models: str) -> Snapshot:
    data = (
        b'{"providers": {"p": {"format": "anthropic", "base_url": "https://example.invalid"}}, "models": {'
        + models.encode()
        + b'}, "routes": {"default": "m"}, "rules": []}'
    )
    return build_snapshot(parse_config(SourceFile("cc-proxy.json", data)), [], {})


def test_a_configured_price_wins_and_cache_prices_default_to_input() -> None:
    priced = '"m": {"provider": "p", "model": "claude-sonnet-4-5", "price": {"input": 2, "output": 4}}'
    snapshot = load_config_bytes(priced)
    model = snapshot.models["m"]
    assert model.price == Price(2.0, 4.0, 2.0, 2.0) and model.price_configured


def test_the_shipped_price_applies_to_a_named_upstream_model() -> None:
    snapshot = load_config_bytes('"m": {"provider": "p", "model": "claude-haiku-4-5-20251001"}, "n": {"provider": "p"}')
    assert snapshot.models["m"].price is DEFAULT_PRICES["claude-haiku-4-5"]
    assert snapshot.models["n"].price is None and not snapshot.models["n"].price_configured


def test_a_negative_price_is_a_config_error() -> None:
    from cc_proxy.engine.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        load_config_bytes('"m": {"provider": "p", "price": {"input": -1, "output": 1}}')
    assert any("price" in p.json_path for p in err.value.problems)
