"""Streams in flight: client disconnects cancel the upstream (C1/C2), translated streams get pings
while the upstream is silent (U11), and bytes are relayed as they arrive, never buffered."""

from __future__ import annotations

import contextlib
import gzip
import socket
import time
from pathlib import Path

import httpx
import orjson

from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.fakes.responses import Hang, Json, Raw, Stream
from tests.fakes.server import FakeUpstream
from tests.server.conftest import CLIENT_KEY, RULES, Stack, base_config, start_proxy, write_stack_files

STREAM = {"model": "claude-x", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def test_disconnect_while_waiting_for_the_first_byte_cancels_the_upstream(stack: Stack) -> None:
    stack.fake.always("/v1/messages", Hang())
    with contextlib.suppress(httpx.TimeoutException):
        stack.post("/v1/messages", STREAM, timeout=0.5)
    request = stack.fake.wait_for_requests(1)[0]
    assert request.closed.wait(2), "the upstream request must be cancelled when the client leaves"


def test_disconnect_mid_stream_closes_the_upstream(stack: Stack) -> None:
    chunks = A.message_stream(A.message(A.text("a long answer " * 5)), pieces=40)
    stack.fake.always("/v1/messages", Stream(chunks, delay=0.2))
    with httpx.Client(timeout=10) as client, client.stream(
        "POST", stack.url + "/v1/messages", json=STREAM, headers={"x-api-key": CLIENT_KEY}
    ) as response:
        assert response.status_code == 200
        for _ in response.iter_raw():
            break  # first bytes in hand: hang up
    request = stack.fake.wait_for_requests(1)[0]
    assert request.closed.wait(2)
    assert request.closed_at is not None


def test_chunks_arrive_while_the_upstream_is_still_open(stack: Stack) -> None:
    chunks = A.message_stream(A.message(A.text("slow answer")), pieces=4)
    stack.fake.always("/v1/messages", Stream(chunks[:3], end="hang"))  # then silence, connection open
    with httpx.Client(timeout=20) as client, client.stream(
        "POST", stack.url + "/v1/messages", json=STREAM, headers={"x-api-key": CLIENT_KEY}
    ) as response:
        received = b""
        got_it_at = 0.0
        for piece in response.iter_raw():
            received += piece
            if b"content_block_start" in received:
                got_it_at = time.monotonic()  # the fake runs in this process: same clock
                break  # (leaving the loop closes the connection)
    upstream = stack.fake.wait_for_requests(1)[0]
    assert upstream.closed.wait(5)
    assert upstream.closed_at is not None
    # Relayed as it came: the client had the first events before the upstream connection ended.
    assert got_it_at < upstream.closed_at, (received, stack.fake.requests)
    assert received.startswith(b"event: message_start")


def test_translated_stream_gets_pings_while_the_upstream_thinks(stack: Stack) -> None:
    chunks = O.chat_stream(content=["Hel", "lo"])
    delays = [0.0, 1.3] + [0.0] * (len(chunks) - 2)  # ping_interval is 0.5 s in this config
    stack.fake.always("/v1/chat/completions", Stream(chunks, delays=delays))
    response = stack.post("/v1/messages", {**STREAM, "model": "gpt-4o"})
    assert response.status_code == 200
    events = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert "ping" in events
    assert events[-1] == "message_stop"


def test_client_reading_nothing_does_not_stall_the_server(stack: Stack) -> None:
    """A client that never reads its stream must not block other clients (back-pressure is per stream)."""
    chunks = A.message_stream(A.message(A.text("x" * 2000)), pieces=200)
    stack.fake.add("/v1/messages", Stream(chunks))
    stack.fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
    host, port = stack.url.removeprefix("http://").split(":")
    body = httpx.Request("POST", "http://x/v1/messages", json=STREAM).content
    with socket.create_connection((host, int(port))) as stuck:
        head = (f"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                f"x-api-key: {CLIENT_KEY}\r\ncontent-length: {len(body)}\r\n\r\n").encode()
        stuck.sendall(head + body)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        ok = stack.post("/v1/messages", {**STREAM, "stream": False})
        assert ok.status_code == 200


def test_httpx_transport_serves_the_same_answers(tmp_path: Path) -> None:
    """`--upstream-transport httpx` (httpx's own pool) is the fallback: same answers as the default."""
    with FakeUpstream() as fake:
        fake.always("/v1/messages", A.auto(A.message(A.text("same answer"))))
        config_path = write_stack_files(tmp_path, base_config(fake.url), RULES)
        proxy = start_proxy(config_path, args=("--upstream-transport", "httpx"))
        stack = Stack(fake, proxy, config_path)
        try:
            plain = stack.post("/v1/messages", {**STREAM, "stream": False})
            assert plain.json()["content"][0]["text"] == "same answer"
            streamed = stack.post("/v1/messages", STREAM)
            assert streamed.text.rstrip().endswith('"type":"message_stop"}')
            assert '"text":"same answer"' not in streamed.text  # split in deltas, not one block
        finally:
            proxy.stop()


def test_compressed_upstream_answers_are_decoded(stack: Stack) -> None:
    """Upstream bodies are read straight from the transport unless they carry a content-encoding:
    a gzip answer (sent although nobody asked for it) is decoded, streamed or not."""
    answer = A.message(A.text("squeezed answer"))
    events = b"".join(A.message_stream(answer, pieces=4))
    packed = gzip.compress(events)
    stack.fake.add("/v1/messages", Stream([packed[:20], packed[20:]], headers={"content-encoding": "gzip"}))
    streamed = stack.post("/v1/messages", STREAM)
    assert streamed.status_code == 200
    assert streamed.text.rstrip().endswith('"type":"message_stop"}')
    deltas = [orjson.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: ")]
    text = "".join(d["delta"]["text"] for d in deltas if d["type"] == "content_block_delta")
    assert text == "squeezed answer"

    stack.fake.add(
        "/v1/messages",
        Raw(gzip.compress(orjson.dumps(answer)), headers={"content-encoding": "gzip"}, content_type="application/json"),
    )
    plain = stack.post("/v1/messages", {**STREAM, "stream": False})
    assert plain.status_code == 200
    assert plain.json()["content"][0]["text"] == "squeezed answer"


def test_json_answer_to_a_stream_request_is_replayed_as_a_stream(stack: Stack) -> None:
    """A compatible server that ignores `stream` answers with one JSON body: the client still gets the
    Anthropic stream for that message, which the real SDK accumulates to the same message."""
    answer = A.message(A.thinking("plan"), A.text("done"), A.tool_use("Bash", {"command": "ls"}))
    stack.fake.add("/v1/messages", Json(answer))
    with stack.anthropic().messages.stream(
        model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    ) as events:
        kinds = [event.type for event in events]
        final = events.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    got = final.model_dump(mode="json", exclude_unset=True)
    got.pop("stop_details", None)
    assert got == {**answer, "model": "claude-x"}  # the answer names the model the client asked for


def test_openai_json_answer_to_a_stream_request_is_replayed_as_a_stream(stack: Stack) -> None:
    call = O.ToolCall("call_1", "Read", ('{"file_path": "a.py"}',))
    stack.fake.add("/v1/chat/completions", Json(O.chat_completion(content="reading", tool_calls=[call])))
    streamed = stack.post("/v1/messages", {**STREAM, "model": "gpt-4o"})
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    payloads = [orjson.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert [p["type"] for p in payloads][-2:] == ["message_delta", "message_stop"]
    blocks = [p["content_block"]["type"] for p in payloads if p["type"] == "content_block_start"]
    assert blocks == ["text", "tool_use"]
    assert payloads[-2]["delta"]["stop_reason"] == "tool_use"


def test_json_error_body_with_200_to_a_stream_request_is_that_error(stack: Stack) -> None:
    """A 200 whose body is an Anthropic error is that error (issue 10): its status, retried like it."""
    stack.fake.always("/v1/messages", Json({"type": "error", "error": {"type": "api_error", "message": "x"}}))
    answer = stack.post("/v1/messages", STREAM)
    assert answer.status_code == 500
    assert answer.json() == {"type": "error", "error": {"type": "api_error", "message": "x"}}
    assert len(stack.fake.requests) == 3
