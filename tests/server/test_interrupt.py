"""Ctrl-C while a stream is open: the first says what the graceful stop waits for (the open requests, up
to the grace period); a second exits at once with one line and no traceback."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Stream
from tests.fakes.server import FakeUpstream
from tests.server.conftest import CLIENT_KEY, RULES, base_config, start_proxy, write_stack_files
from tests.server.test_reload import wait_for

STREAM = {"model": "claude-x", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def test_first_ctrl_c_says_it_waits_for_the_open_stream_and_a_second_exits_at_once(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        chunks = A.message_stream(A.message(A.text("one two three four five six")), pieces=6)
        fake.always("/v1/messages", Stream(chunks, delay=2.0))  # far longer than the test takes
        config_path = write_stack_files(tmp_path, base_config(fake.url), RULES)
        proxy = start_proxy(config_path)
        try:
            with httpx.Client(timeout=30) as client, client.stream(
                "POST", proxy.url + "/v1/messages", json=STREAM, headers={"x-api-key": CLIENT_KEY}
            ) as response:
                pieces = response.iter_raw()  # kept: a dropped iterator closes the response
                next(pieces)  # the stream is open
                os.kill(proxy.proc.pid, signal.SIGINT)
                wait_for("the first Ctrl-C's message", lambda: "cc-proxy: stopping" in proxy.log())
                assert "cc-proxy: stopping: waiting up to 15 s for 1 open request (streams included); " \
                       "Ctrl-C again to stop at once" in proxy.log()
                assert proxy.proc.poll() is None  # still draining
                os.kill(proxy.proc.pid, signal.SIGINT)
                assert proxy.proc.wait(timeout=10) == 130
                with pytest.raises(httpx.RemoteProtocolError):  # cut: the client sees the stream end short
                    b"".join(pieces)
            log = proxy.log()
            assert "cc-proxy: stopped at once (1 open request cut)" in log
            assert "Traceback" not in log and "RuntimeError" not in log and "KeyboardInterrupt" not in log
        finally:
            proxy.stop()


def test_ctrl_c_with_nothing_open_stops_at_once_and_cleanly(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        config_path = write_stack_files(tmp_path, base_config(fake.url), RULES)
        proxy = start_proxy(config_path)
        try:
            os.kill(proxy.proc.pid, signal.SIGINT)
            assert proxy.proc.wait(timeout=20) == 0
            assert "cc-proxy: stopping\n" in proxy.log() and "Traceback" not in proxy.log()
        finally:
            proxy.stop()
