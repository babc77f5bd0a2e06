"""A real `cc-proxy serve` in front of a FakeUpstream, with prices: what the observability tests read
back (log lines, /metrics, the usage database) must add up to what the fake upstream reported."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.server import FakeUpstream
from tests.server.conftest import RULES, Stack, base_config, start_proxy, write_stack_files

# USD per million tokens; `gpt` and `backup` are priced in the config, `sonnet` (claude-sonnet-4-5)
# by the shipped defaults, `dead` not at all.
GPT_PRICE = {"input": 2, "output": 8, "cache_read": 0.5}
BACKUP_PRICE = {"input": 1, "output": 2, "cache_read": 0.1, "cache_write": 1.25}
SESSION = "5a1e7c2d-0000-4000-8000-00000000beef"


def observe_config(fake_url: str, **server: Any) -> dict[str, Any]:
    server.setdefault("usage", {"path": "usage.sqlite3"})  # beside the config, in the test's directory
    config = copy.deepcopy(base_config(fake_url, **server))
    config["models"]["gpt"]["price"] = GPT_PRICE
    config["models"]["backup"]["price"] = BACKUP_PRICE
    return config


def observe_stack(
    base: Path, fake: FakeUpstream, args: tuple[str, ...] = (), env: dict[str, str] | None = None, **server: Any
) -> Stack:
    config_path = write_stack_files(base, observe_config(fake.url, **server), RULES)
    proxy = start_proxy(config_path, env=env, args=("--eject-after", "0", *args))
    return Stack(fake, proxy, config_path)


@pytest.fixture(scope="module")
def module_observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("observe")
    with FakeUpstream() as fake:
        stack = observe_stack(base, fake)
        try:
            yield stack
        finally:
            stack.proxy.stop()


@pytest.fixture
def observed(module_observed: Stack) -> Stack:
    module_observed.reset()
    return module_observed


def scrape(stack: Stack, headers: dict[str, str] | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics parsed by prometheus-client's own parser: {(sample name, sorted labels): value}."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    response = httpx.get(stack.url + "/metrics", headers=headers or {}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(
        value
        for (sample, have), value in samples.items()
        if sample == name and all((k, v) in have for k, v in labels.items())
    )
