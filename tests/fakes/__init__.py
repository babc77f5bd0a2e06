"""Fake upstreams for tests: scripted, byte-exact HTTP/1.1 servers on 127.0.0.1 (see README.md)."""

from tests.fakes.responses import (
    Close,
    Hang,
    Json,
    Raw,
    Responder,
    Response,
    Stream,
    anthropic_error,
    html,
    openai_error,
    sse_chunks,
    trickle,
)
from tests.fakes.server import FakeUpstream, RecordedRequest

__all__ = [
    "Close",
    "FakeUpstream",
    "Hang",
    "Json",
    "Raw",
    "RecordedRequest",
    "Responder",
    "Response",
    "Stream",
    "anthropic_error",
    "html",
    "openai_error",
    "sse_chunks",
    "trickle",
]
