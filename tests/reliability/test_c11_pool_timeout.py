"""C11 (../shared/reliability.md section 2): a request that finds the upstream pool full gets a fast 529
`overloaded_error` with `retry-after`, never a 500, a 502 "could not connect", or a wait in an unbounded
queue. End to end the in-flight limit trips first (tests/server/test_auth_prefix.py), because the pool
is max(64, max_in_flight); here the real client of each transport gets a pool of one connection, held
by a request to an upstream that never answers, and a second exchange runs against it.

aiohttp reports a pool wait that timed out as the same ConnectionTimeoutError as a connect that timed
out; server/aiohttp_transport.py tells them apart. The
`connect_timeout_with_a_free_pool` test keeps that distinction honest in the other direction.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import orjson
import pytest

from cc_proxy.engine.decide import decide
from cc_proxy.engine.snapshot import Snapshot
from cc_proxy.server.breaker import Breaker
from cc_proxy.server.config_files import load_from_disk
from cc_proxy.server.exchange import Committed, Exchange, Failed, run
from cc_proxy.server.retry import RetryBudget
from cc_proxy.server.upstream import TRANSPORTS, create_client
from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Hang
from tests.fakes.server import FakeUpstream
from tests.server.conftest import PROXY_ENV, RULES, base_config, write_stack_files

# A short pool (= connect) timeout; first-byte deadlines far longer, so a request that queued behind
# the hanging one would end as a 504 much later, not as the 529 asserted here.
TIMEOUTS = {"connect": 0.2, "first_byte": 30, "first_byte_nonstream": 30, "idle": 30, "ping_interval": 0.5}
REQUEST: dict[str, Any] = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
SAFETY = 20  # seconds: only so a regression fails instead of hanging the suite


def _snapshot(tmp_path: Path, fake_url: str) -> Snapshot:
    config_path = write_stack_files(tmp_path, base_config(fake_url, timeouts=TIMEOUTS), RULES)
    return load_from_disk(str(config_path), env=PROXY_ENV).snapshot


async def _while_the_only_connection_hangs(
    snapshot: Snapshot, transport: str, fake: FakeUpstream, body: dict[str, Any], breaker: Breaker
) -> tuple[Committed | Failed, int, bool]:
    """(result of the second exchange, its attempts, whether the first was still pending after it)."""
    client = create_client(transport, max_connections=1)
    first = asyncio.create_task(
        run(Exchange(snapshot, client, {}, False, RetryBudget()), decide(snapshot, REQUEST, {}, None))
    )
    try:
        await asyncio.to_thread(fake.wait_for_requests, 1)  # the pool's one connection is now taken
        second = Exchange(snapshot, client, {}, False, RetryBudget(), breaker)
        result = await asyncio.wait_for(run(second, decide(snapshot, body, {}, None)), SAFETY)
        return result, second.attempts, not first.done()
    finally:
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        await client.aclose()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("model", ["claude-x", "fb-1"], ids=["default-route", "route-with-fallback"])
def test_c11_pool_exhausted_is_a_529_overloaded_with_retry_after(tmp_path: Path, transport: str, model: str) -> None:
    with FakeUpstream() as fake:
        fake.always("*", Hang())
        snapshot = _snapshot(tmp_path, fake.url)
        breaker = Breaker(threshold=1)  # one failure counted against the target would eject it
        body = {**REQUEST, "model": model}
        result, attempts, first_pending = asyncio.run(
            _while_the_only_connection_hangs(snapshot, transport, fake, body, breaker)
        )
        assert len(fake.requests) == 1  # the second request never reached the upstream
    assert isinstance(result, Failed)
    assert result.status == 529
    assert orjson.loads(result.body) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "proxy overloaded: no upstream connection free"},
    }
    assert result.headers["retry-after"] == "1"
    assert first_pending  # answered while the connection was still held: it did not queue behind it
    # One attempt: no retry, and no fallback (it shares the full pool); the target is not blamed.
    assert attempts == 1
    assert result.decision.target.alias == "sonnet"
    assert not result.target_fault and not breaker.ejected("sonnet")


def _full_backlog() -> tuple[socket.socket, socket.socket, int]:
    """A listener whose accept queue is full (backlog 0, one connection never accepted): the kernel
    drops further SYNs, so a connect to it times out, a real connect timeout on 127.0.0.1."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)
    return listener, filler, port


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_c11_a_connect_timeout_with_a_free_pool_stays_a_502_connect_failure(tmp_path: Path, transport: str) -> None:
    """The pool-wait detection marks only a request that queued: with the pool free, a served request
    gives its connection back, and a connect that times out stays a connection failure (502, retried,
    counted against the target), not a 529."""
    listener, filler, port = _full_backlog()
    try:
        with FakeUpstream() as fake:
            fake.always("*", A.auto(A.message(A.text("ok"))))
            config = base_config(fake.url, timeouts=TIMEOUTS)
            config["providers"]["dead"]["base_url"] = f"http://127.0.0.1:{port}"
            config["routes"]["deadThenBackup"] = "dead"  # no fallback: the failure itself is the answer
            snapshot = load_from_disk(str(write_stack_files(tmp_path, config, RULES)), env=PROXY_ENV).snapshot
            breaker = Breaker(threshold=1)

            async def both() -> tuple[Committed | Failed, Committed | Failed, int]:
                client = create_client(transport, max_connections=1)
                try:
                    ex = Exchange(snapshot, client, {}, False, RetryBudget())
                    ok = await run(ex, decide(snapshot, REQUEST, {}, None))
                    if isinstance(ok, Committed):
                        await ok.response.aclose()  # the one pooled connection is free again
                    ex = Exchange(snapshot, client, {}, False, RetryBudget(), breaker)
                    dead_request = {**REQUEST, "model": "dead-1"}
                    dead = await asyncio.wait_for(run(ex, decide(snapshot, dead_request, {}, None)), SAFETY)
                    return ok, dead, ex.attempts
                finally:
                    await client.aclose()

            ok, dead, attempts = asyncio.run(both())
    finally:
        filler.close()
        listener.close()
    assert isinstance(ok, Committed) and orjson.loads(ok.held)["content"][0]["text"] == "ok"
    assert isinstance(dead, Failed)
    assert dead.status == 502
    assert orjson.loads(dead.body)["error"]["message"].startswith(
        "could not connect to upstream dead (127.0.0.1): no connection to 127.0.0.1:"
    )
    assert orjson.loads(dead.body)["error"]["message"].endswith(" within the connect timeout")
    assert "retry-after" not in dead.headers
    assert attempts > 1  # a connect failure is retried (a full pool is not)
    assert breaker.ejected("dead")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_c11_count_tokens_on_a_full_pool_is_the_same_529(tmp_path: Path, transport: str) -> None:
    """`count_tokens` forwarded to an Anthropic target's own endpoint meets the same full pool: the same
    529 with `retry-after`, not a 502."""
    from cc_proxy.engine.errors import ProxyError
    from cc_proxy.server.handlers import _upstream_count

    with FakeUpstream() as fake:
        fake.always("*", Hang())
        snapshot = _snapshot(tmp_path, fake.url)

        async def count_while_held() -> ProxyError:
            client = create_client(transport, max_connections=1)
            first = asyncio.create_task(
                run(Exchange(snapshot, client, {}, False, RetryBudget()), decide(snapshot, REQUEST, {}, None))
            )
            try:
                await asyncio.to_thread(fake.wait_for_requests, 1)
                with pytest.raises(ProxyError) as raised:
                    await asyncio.wait_for(
                        _upstream_count(snapshot, decide(snapshot, REQUEST, {}, None), {}, {}, client), SAFETY
                    )
                return raised.value
            finally:
                first.cancel()
                await asyncio.gather(first, return_exceptions=True)
                await client.aclose()

        err = asyncio.run(count_while_held())
        assert len(fake.requests) == 1
    assert (err.status, err.error_type, err.message) == (
        529,
        "overloaded_error",
        "proxy overloaded: no upstream connection free",
    )
    assert err.headers == {"retry-after": "1"}
