"""server/aiohttp_transport.py against fake upstreams on 127.0.0.1: it answers like httpx's own transport
(same httpx error for the same fault, same answer whichever entry is used), and it keeps or closes
connections as a pool must."""

from __future__ import annotations

import asyncio
import gzip
import socket
from typing import Any

import httpx
import orjson
import pytest

from cc_proxy.server.upstream import create_client
from tests.fakes import Close, FakeUpstream, Json, Raw, Stream


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _send_and_read(client: httpx.AsyncClient, url: str) -> bytes:
    """httpx's API: a request with a 0.3 s read timeout, then the whole body."""
    request = client.build_request("POST", url, content=b"{}", timeout=httpx.Timeout(5, read=0.3))
    response = await client.send(request, stream=True)
    try:
        return await response.aread()
    finally:
        await response.aclose()


def _outcome(transport: str, url: str) -> type[BaseException] | bytes:
    async def go() -> type[BaseException] | bytes:
        client = create_client(transport)
        try:
            return await _send_and_read(client, url)
        except httpx.TransportError as exc:
            return type(exc)
        finally:
            await client.aclose()

    return asyncio.run(go())


FAULTS: dict[str, Any] = {
    "closed-without-answer": Close(),
    "body-cut-short": Stream([b"data: {}\n\n"], end="fin"),
    "silent-mid-body": Stream([b"data: {}\n\n", b"data: {}\n\n"], delay=2.0),
    "whole-answer": Json({"ok": True}),
}
EXPECTED: dict[str, type[BaseException] | bytes] = {
    "closed-without-answer": httpx.RemoteProtocolError,
    "body-cut-short": httpx.RemoteProtocolError,
    "silent-mid-body": httpx.ReadTimeout,
    "whole-answer": b'{"ok":true}',
}


@pytest.mark.parametrize("fault", FAULTS, ids=FAULTS.keys())
def test_each_fault_is_the_same_httpx_outcome_on_both_transports(fault: str) -> None:
    outcomes = {}
    for transport in ("aiohttp", "httpx"):
        with FakeUpstream() as fake:
            fake.always("/v1/messages", FAULTS[fault])
            outcomes[transport] = _outcome(transport, fake.url + "/v1/messages")
    assert outcomes == {"aiohttp": EXPECTED[fault], "httpx": EXPECTED[fault]}


def test_a_refused_connection_is_connect_error_on_both_transports() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1/messages"
    outcomes = {transport: _outcome(transport, url) for transport in ("aiohttp", "httpx")}
    assert outcomes == {"aiohttp": httpx.ConnectError, "httpx": httpx.ConnectError}


def test_the_parts_entry_and_httpx_api_send_the_same_request_and_read_the_same_answer() -> None:
    answer = Raw(b'{"id":"msg_1"}', headers={"request-id": "req_1"}, content_type="application/json")
    with FakeUpstream() as fake:
        fake.always("/v1/messages", answer)

        async def both() -> list[tuple[int, str, str, bytes]]:
            client = create_client("aiohttp")
            headers = {"x-api-key": "upstream-key", "anthropic-version": "2023-06-01"}
            try:
                by_parts = await client.send_parts(  # type: ignore[attr-defined]
                    "POST", fake.url + "/v1/messages", headers, b'{"a":1}', connect=5, pool=5
                )
                by_api = await client.send(
                    client.build_request("POST", fake.url + "/v1/messages", content=b'{"a":1}', headers=headers),
                    stream=True,
                )
                out = []
                for response in (by_parts, by_api):
                    body = await response.aread()
                    await response.aclose()
                    seen = (response.status_code, response.headers["request-id"], response.headers["content-type"])
                    out.append((*seen, body))
                return out
            finally:
                await client.aclose()

        parts, api = asyncio.run(both())
        assert parts == api == (200, "req_1", "application/json", b'{"id":"msg_1"}')
        first, second = fake.requests
        for sent in (first, second):
            assert sent.body == b'{"a":1}' and sent.headers["x-api-key"] == "upstream-key"
            assert sent.headers["content-length"] == "7" and sent.headers["host"] == fake.url.removeprefix("http://")


def test_a_gzip_answer_is_decoded_by_httpx_from_the_raw_bytes() -> None:
    payload = orjson.dumps({"type": "message", "content": [{"type": "text", "text": "hé" * 500}]})
    with FakeUpstream() as fake:
        compressed = Raw(gzip.compress(payload), headers={"content-encoding": "gzip"}, content_type="application/json")
        fake.always("/v1/messages", compressed)
        assert _outcome("aiohttp", fake.url + "/v1/messages") == payload


def test_a_read_body_returns_its_connection_and_an_unfinished_one_closes_it() -> None:
    with FakeUpstream() as fake:
        three_events = Stream([b"data: {}\n\n"] * 3, delay=0.2)
        fake.add("/v1/messages", Json({"n": 1}), Json({"n": 2}), three_events, Json({"n": 4}))

        async def send(client: httpx.AsyncClient) -> httpx.Response:
            response: httpx.Response = await client.send_parts(  # type: ignore[attr-defined]
                "POST", fake.url + "/v1/messages", {}, b"{}", connect=5, pool=5
            )
            return response

        async def go() -> tuple[list[bool], bool]:
            client = create_client("aiohttp")
            try:
                for _ in range(2):
                    response = await send(client)
                    await response.aread()
                    await response.aclose()
                kept_open = [not request.closed.is_set() for request in fake.requests]
                unfinished = await send(client)
                await unfinished.aclose()  # two events still to come: the connection must not go back
                closed = await asyncio.to_thread(fake.requests[2].closed.wait, 5)
                response = await send(client)
                await response.aread()
                await response.aclose()
                return kept_open, closed
            finally:
                await client.aclose()

        kept_open, closed = asyncio.run(go())
        assert kept_open == [True, True]  # whole answers: their connection stays for the next request
        assert closed  # the unfinished answer's connection was closed, not pooled
        assert fake.requests[3].received_at > fake.requests[2].closed_at
