"""SIGTERM with a stream open (reliability C12): the stream finishes, then the process exits."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Stream
from tests.fakes.server import FakeUpstream
from tests.server.conftest import CLIENT_KEY, RULES, base_config, start_proxy, write_stack_files

STREAM = {"model": "claude-x", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def test_sigterm_lets_an_open_stream_finish(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        chunks = A.message_stream(A.message(A.text("one two three four")), pieces=4)
        fake.always("/v1/messages", Stream(chunks, delay=0.15))
        config_path = write_stack_files(tmp_path, base_config(fake.url), RULES)
        proxy = start_proxy(config_path)
        try:
            with httpx.Client(timeout=20) as client, client.stream(
                "POST", proxy.url + "/v1/messages", json=STREAM, headers={"x-api-key": CLIENT_KEY}
            ) as response:
                pieces = response.iter_raw()
                received = next(pieces)
                os.kill(proxy.proc.pid, signal.SIGTERM)
                received += b"".join(pieces)
            assert received.rstrip().endswith(b'"type":"message_stop"}')
            assert proxy.proc.wait(timeout=20) == 0
        finally:
            proxy.stop()
