"""The fakes themselves, checked against the real SDKs and httpx (a broken fake wastes everyone's time)."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.fakes import Close, FakeUpstream, Hang, Json, Stream, anthropic_error, html, trickle
from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.fakes.tls import CA

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def up() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def _msg() -> dict[str, object]:
    return A.message(
        A.thinking("The user wants a file read. Let me do that."),
        A.text("Reading it now, héllo 世界."),
        A.tool_use("Read", {"file_path": "src/app.py", "limit": 20}),
        usage={
            "input_tokens": 1200,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 30,
            "output_tokens": 57,
        },
    )


def test_anthropic_sdk_stream_accumulates_the_message(up: FakeUpstream) -> None:
    msg = _msg()
    up.add("/v1/messages", A.auto(msg, pieces=4))
    client = anthropic.Anthropic(base_url=up.url, api_key="sk-ant-test", max_retries=0)
    with client.messages.stream(
        model="claude-fake", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.model_dump(exclude_none=True) == {k: v for k, v in msg.items() if v is not None}
    req = up.requests[0]
    assert (req.method, req.path) == ("POST", "/v1/messages")
    assert "sk-ant-test" in (req.headers.get("x-api-key"), req.headers.get("authorization", "").removeprefix("Bearer "))
    assert req.json["stream"] is True


def test_anthropic_sdk_non_stream_and_error(up: FakeUpstream) -> None:
    up.add("/v1/messages", A.auto(_msg()), anthropic_error(529, "overloaded_error", "Overloaded"))
    client = anthropic.Anthropic(base_url=up.url, api_key="k", max_retries=0)
    got = client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert [b.type for b in got.content] == ["thinking", "text", "tool_use"]
    with pytest.raises(anthropic.APIStatusError) as err:
        client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert err.value.status_code == 529
    assert err.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": "req_fake_error",
    }


def test_anthropic_stream_grammar() -> None:
    types = [e["type"] for e in A.message_events(_msg(), pieces=2)]
    assert types[:3] == ["message_start", "content_block_start", "ping"]
    assert types[-2:] == ["message_delta", "message_stop"]
    deltas = [e["delta"]["type"] for e in A.message_events(_msg()) if e["type"] == "content_block_delta"]
    assert deltas.index("signature_delta") < deltas.index("text_delta") < deltas.index("input_json_delta")
    first_json = next(e for e in A.message_events(_msg()) if e.get("delta", {}).get("type") == "input_json_delta")
    assert first_json["delta"]["partial_json"] == ""


def test_openai_sdk_streams_a_tool_call(up: FakeUpstream) -> None:
    calls = [
        O.ToolCall("call_A", "Read", ['{"file_path":', ' "src/app.py"}']),
        O.ToolCall("call_B", "Glob", ['{"pattern": "*.md"}']),
    ]
    up.add("/v1/chat/completions", O.auto(content=["Check", "ing."], reasoning=["Hmm", "."], tool_calls=calls))
    client = openai.OpenAI(base_url=up.url + "/v1", api_key="sk-test", max_retries=0)
    with client.chat.completions.stream(
        model="gpt-x", messages=[{"role": "user", "content": "hi"}], stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking."
    assert [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls or []] == [
        ("call_A", "Read", '{"file_path": "src/app.py"}'),
        ("call_B", "Glob", '{"pattern": "*.md"}'),
    ]
    assert final.usage is not None and final.usage.total_tokens == 30
    assert up.requests[0].headers["authorization"] == "Bearer sk-test"


def test_openai_stream_shape() -> None:
    payloads = O.chat_stream_payloads(content=["a"], usage=O.DEFAULT_USAGE)
    assert payloads[0]["choices"][0]["delta"]["role"] == "assistant"
    assert payloads[-1]["choices"] == [] and payloads[-1]["usage"] == O.DEFAULT_USAGE
    assert all(p["usage"] is None for p in payloads[:-1])
    chunks = O.chat_stream(content=["a"], usage=None)
    assert chunks[-1] == b"data: [DONE]\n\n"
    assert all("usage" not in json.loads(c[6:]) for c in chunks[:-1])


def test_records_query_headers_and_body(up: FakeUpstream) -> None:
    up.always("*", Json({"ok": True}, 201, {"x-extra": "1"}))
    r = httpx.post(up.url + "/v1/messages?beta=true", content=b'{"a":1}', headers={"X-Custom": "v"})
    assert (r.status_code, r.json(), r.headers["x-extra"]) == (201, {"ok": True}, "1")
    req = up.requests[0]
    assert (req.query, req.query_params, req.body, req.json) == ("beta=true", {"beta": ["true"]}, b'{"a":1}', {"a": 1})
    assert req.headers["x-custom"] == "v" and ("X-Custom", "v") in req.raw_headers


def test_queue_then_always_then_unscripted(up: FakeUpstream) -> None:
    up.add("/a", Json(1), Json(2)).always("/a", Json(3))
    with httpx.Client(base_url=up.url) as c:
        assert [c.get("/a").json() for _ in range(4)] == [1, 2, 3, 3]
        missing = c.get("/b")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"


def test_stream_bytes_are_exact(up: FakeUpstream) -> None:
    raw = [b"event: a\r\ndata: 1\r\n\r\n", b": comment\n", b"data: 2\r\r"]
    up.add("/s", Stream(raw, delay=0.01))
    r = httpx.post(up.url + "/s")
    assert r.content == b"".join(raw)
    assert r.headers["content-type"] == "text/event-stream"
    up.add("/t", trickle(b"data: x\n\n", size=2, delay=0.001))
    assert httpx.get(up.url + "/t").content == b"data: x\n\n"


def test_html_page(up: FakeUpstream) -> None:
    up.add("/x", html(503))
    r = httpx.get(up.url + "/x")
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html") and b"<html>" in r.content


def test_fin_mid_stream_is_a_truncated_body(up: FakeUpstream) -> None:
    up.add("/s", Stream([b"data: 1\n\n"], end="fin"))
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", up.url + "/s") as r:
        r.read()


def test_rst_is_a_connection_reset(up: FakeUpstream) -> None:
    up.add("/s", Close(rst=True))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(up.url + "/s")


def test_close_without_answer(up: FakeUpstream) -> None:
    up.add("/s", Close())
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(up.url + "/s")


def test_hang_until_client_gives_up_and_closed_is_seen(up: FakeUpstream) -> None:
    up.add("/h", Hang())
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(up.url + "/h", timeout=httpx.Timeout(5, read=0.2))
    req = up.wait_for_requests(1)[0]
    assert req.closed.wait(5)


def test_client_hangup_during_stream_pause_is_seen(up: FakeUpstream) -> None:
    up.add("/s", Stream([b"data: 1\n\n", b"data: 2\n\n"], delay=30))
    with httpx.stream("GET", up.url + "/s") as r:
        next(r.iter_raw())
    assert up.wait_for_requests(1)[0].closed.wait(5)


def test_standalone_process(tmp_path: Path) -> None:
    script = {
        "routes": {"/v1/messages": [{"json": {"n": 1}, "status": 202}]},
        "always": {"/v1/messages": {"anthropic": {"content": [{"type": "text", "text": "hi"}]}}},
    }
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.serve", "--port", "0", "--script", str(path), "--stdin-lifeline"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        first = httpx.post(url + "/v1/messages", json={"stream": False})
        assert (first.status_code, first.json()) == (202, {"n": 1})
        client = anthropic.Anthropic(base_url=url, api_key="k", max_retries=0)
        with client.messages.stream(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}]) as s:
            assert s.get_final_text() == "hi"
        httpx.post(url + "/_fake/script", json={"routes": {"/z": [{"fault": "close"}]}})
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url + "/z")
        seen = httpx.get(url + "/_fake/requests").json()
        assert [r["path"] for r in seen] == ["/v1/messages", "/v1/messages", "/z"]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # the lifeline: the process exits by itself
        assert proc.wait(10) == 0


def test_rst_mid_stream_after_some_chunks(up: FakeUpstream) -> None:
    up.add("/s", Stream([b"data: 1\n\n", b"data: 2\n\n"], end="rst"))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)), httpx.stream("GET", up.url + "/s") as r:
        for _ in r.iter_raw():
            pass


def test_stall_after_chunks_then_client_gives_up(up: FakeUpstream) -> None:
    up.add("/s", Stream([b"data: 1\n\n"], end="hang", headers_delay=0.01))
    got = b""
    with pytest.raises(httpx.ReadTimeout), httpx.stream("GET", up.url + "/s", timeout=httpx.Timeout(5, read=0.2)) as r:
        for piece in r.iter_raw():
            got += piece
    assert got == b"data: 1\n\n"
    assert up.wait_for_requests(1)[0].closed.wait(5)


def test_head_request_gets_headers_only(up: FakeUpstream) -> None:
    up.always("*", Json({"x": 1}))
    r = httpx.head(up.url + "/api/hello")
    assert r.status_code == 200 and r.content == b""
    assert up.requests[0].method == "HEAD"


def test_tls_fake_serves_https_and_records_connections_and_failed_handshakes() -> None:
    ca = CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    with FakeUpstream(ssl_context=server) as fake:
        fake.always("*", Json({"x": 1}))
        assert fake.url == f"https://127.0.0.1:{fake.port}"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(fake.url + "/a")  # certifi's roots: the test CA is unknown
        assert [f for f in fake.wait_for_tls_failures(1) if "UNKNOWN_CA" in f] == fake.tls_failures
        r = httpx.get(fake.url + "/b", verify=trusting)
        assert r.status_code == 200 and r.json() == {"x": 1}
        assert [req.path for req in fake.requests] == ["/b"]
        with socket.create_connection(("127.0.0.1", fake.port)) as probe:  # a barrier: accepted after the rest
            earlier = fake.wait_for_connection(probe.getsockname()[:2])
        assert len(earlier) == 2 and fake.connections[:2] == earlier


def test_plain_fake_records_no_connections(up: FakeUpstream) -> None:
    up.always("*", Json({"x": 1}))
    assert httpx.get(up.url + "/c").status_code == 200
    assert up.url.startswith("http://") and up.connections == [] and up.tls_failures == []
