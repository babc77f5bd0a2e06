"""OpenTelemetry traces over OTLP/HTTP to a local receiver in this test, which decodes the protobuf
it gets: one span per request with the GenAI attributes, nothing secret."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.fakes import anthropic_error
from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.fakes.server import FakeUpstream
from tests.observe.conftest import SESSION, observe_stack
from tests.observe.test_request_log import ASK, OPENAI_USAGE, USAGE
from tests.server.conftest import CANARIES, CLIENT_KEY


class Receiver:
    """A minimal OTLP/HTTP traces endpoint: POST /v1/traces with an ExportTraceServiceRequest."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.raw: list[bytes] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                assert self.headers["content-type"] == "application/x-protobuf"
                received.raw.append(body)
                if self.path == "/v1/metrics":
                    received.metrics.append(ExportMetricsServiceRequest.FromString(body))
                    self._ok()
                    return
                assert self.path == "/v1/traces"
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    service = {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"]
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            attributes = {a.key: _value(a.value) for a in span.attributes}
                            received.spans.append({
                                "name": span.name, "service": service, "kind": span.kind, "status": span.status.code,
                                "start": span.start_time_unix_nano, "end": span.end_time_unix_nano,
                                "attributes": attributes,
                            })  # fmt: skip
                self._ok()

            def _ok(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait(self, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 20
        while len(self.spans) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.spans) >= count, f"{len(self.spans)} of {count} spans received"
        return self.spans


def _attrs(point: Any) -> dict[str, Any]:
    return {a.key: _value(a.value) for a in point.attributes}


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def test_spans_carry_the_genai_conventions(tmp_path: Path, receiver: Receiver) -> None:
    with FakeUpstream() as fake:
        stack = observe_stack(tmp_path, fake, traces={"endpoint": receiver.url, "service_name": "proxy-under-test"})
        try:
            fake.always("/v1/messages", A.auto(A.message(A.text("ok"), usage=USAGE)))
            fake.always("/v1/chat/completions", O.auto(content=["Hel", "lo"], usage=OPENAI_USAGE))
            session = {"x-claude-code-session-id": SESSION}
            assert stack.post("/v1/messages", {**ASK, "stream": True}, session).status_code == 200
            assert stack.post("/v1/messages", {**ASK, "model": "gpt-4o"}, session).status_code == 200
            fake.add("/v1/messages", anthropic_error(400, "invalid_request_error", "bad"))
            assert stack.post("/v1/messages", ASK, session).status_code == 400
        finally:
            stack.proxy.stop()  # shutdown exports what is still batched
    spans = receiver.wait(3)
    ok = [s for s in spans if s["attributes"]["http.response.status_code"] == 200]
    by_model = {s["attributes"].get("gen_ai.response.model"): s for s in ok}
    anthropic = by_model["claude-sonnet-4-5"]["attributes"]
    assert by_model["claude-sonnet-4-5"]["name"] == "chat claude-sonnet-4-5"
    assert by_model["claude-sonnet-4-5"]["service"] == "proxy-under-test"
    assert anthropic["gen_ai.operation.name"] == "chat" and anthropic["gen_ai.provider.name"] == "anthropic"
    assert anthropic["gen_ai.request.model"] == "claude-sonnet-4-5"
    assert anthropic["gen_ai.usage.input_tokens"] == 1200 + 5000 + 300  # cached input summed in
    assert anthropic["gen_ai.usage.output_tokens"] == 80
    assert anthropic["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert anthropic["gen_ai.conversation.id"] == SESSION
    openai = by_model["gpt-test"]["attributes"]
    assert openai["gen_ai.provider.name"] == "openai" and openai["gen_ai.usage.input_tokens"] == 1500
    error = next(s for s in spans if s["attributes"]["http.response.status_code"] == 400)
    assert error["attributes"]["error.type"] == "invalid_request_error" and error["status"] == 2  # STATUS_CODE_ERROR
    assert all(s["end"] > s["start"] > 0 for s in spans)
    # the GenAI metrics, exported at shutdown at the latest
    points: dict[str, list[Any]] = {}
    for request in receiver.metrics:
        for resource in request.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    points.setdefault(metric.name, []).extend(metric.histogram.data_points)
    assert set(points) >= {"gen_ai.client.token.usage", "gen_ai.server.request.duration",
                           "gen_ai.server.time_to_first_token"}  # fmt: skip
    tokens = {
        (_attrs(p)["gen_ai.response.model"], _attrs(p)["gen_ai.token.type"]): p.sum
        for p in points["gen_ai.client.token.usage"]
    }
    assert tokens[("claude-sonnet-4-5", "input")] == 6500 and tokens[("claude-sonnet-4-5", "output")] == 80
    assert sum(p.count for p in points["gen_ai.server.request.duration"]) == 3
    assert sum(p.count for p in points["gen_ai.server.time_to_first_token"]) == 1  # the one stream
    raw = b"".join(receiver.raw)
    for secret in (*CANARIES, CLIENT_KEY):
        assert secret.encode() not in raw
