"""FakeUpstream: a scripted HTTP/1.1 server on 127.0.0.1 in a background thread, byte-exact.

A raw `asyncio.start_server` implementation rather than a framework, so tests control every byte,
every chunk boundary, and how the connection ends (FIN, RST, silence).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import orjson

from tests.fakes.responses import Close, Hang, Json, Raw, Responder, Response, Stream

_MAX_HEAD = 1024 * 1024


@dataclass
class RecordedRequest:
    """One request as received. `headers` has lower-case names (last value wins); `raw_headers` all."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    raw_headers: list[tuple[str, str]]
    body: bytes
    received_at: float  # time.monotonic()
    # Set when the connection that carried this request closed (peer hung up, or the fake ended it).
    closed: threading.Event = field(default_factory=threading.Event, repr=False)
    closed_at: float | None = None

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    @property
    def query_params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    def summary(self) -> dict[str, Any]:
        """JSON-able form (the /_fake/requests control endpoint)."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "json": self.json,
            "closed": self.closed.is_set(),
        }


class _Conn:
    """A reader with a push-back buffer: the EOF watcher may read bytes of a pipelined request."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.buf = bytearray()

    async def fill(self) -> bool:
        data = await self.reader.read(65536)
        self.buf += data
        return bool(data)

    async def read_until(self, sep: bytes) -> bytes | None:
        while (i := self.buf.find(sep)) < 0:
            if len(self.buf) > _MAX_HEAD or not await self.fill():
                return None
        out = bytes(self.buf[: i + len(sep)])
        del self.buf[: i + len(sep)]
        return out

    async def read_exactly(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            if not await self.fill():
                return None
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


class FakeUpstream:
    """Scripted fake upstream. Use as a context manager; `url` is `http://127.0.0.1:<port>`.

    `add(path, *responders)` queues answers used once each, in order; `always(path, responder)` answers
    when the queue is empty. A responder is a Response or `callable(RecordedRequest) -> Response`.
    The path `"*"` matches any path. Unscripted requests get a 404 Anthropic error. Paths under
    `/_fake/` are the control API (not recorded): `GET /_fake/requests`, `POST /_fake/script`.

    `ssl_context`: a server SSLContext makes it an HTTPS server (`url` is `https://...`). Every TCP connection is
    then recorded in `connections` before its handshake, and a failed handshake's error (as the server
    saw it, e.g. the client's `unknown ca` alert) in `tls_failures`, so tests can count attempts that
    never got as far as a request.
    """

    def __init__(self, port: int = 0, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._port = port
        self._ssl = ssl_context
        self._connections: list[tuple[str, int]] = []
        self._tls_failures: list[str] = []
        self._lock = threading.Condition()
        self._queues: dict[str, deque[Responder]] = {}
        self._always: dict[str, Responder] = {}
        self._requests: list[RecordedRequest] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop: asyncio.Event | None = None
        self.url = ""
        self.port = 0

    # -- scripting ---------------------------------------------------------------------------------

    def add(self, path: str, *responders: Responder) -> FakeUpstream:
        with self._lock:
            self._queues.setdefault(path, deque()).extend(responders)
        return self

    def always(self, path: str, responder: Responder) -> FakeUpstream:
        with self._lock:
            self._always[path] = responder
        return self

    def load_script(self, script: dict[str, Any]) -> FakeUpstream:
        """Add a JSON script (the `serve --script` format, see tests/fakes/README.md)."""
        from tests.fakes.script import parse_script

        queued, always = parse_script(script)
        for path, responders in queued.items():
            self.add(path, *responders)
        for path, responder in always.items():
            self.always(path, responder)
        return self

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def connections(self) -> list[tuple[str, int]]:
        """Peer addresses of the TCP connections accepted so far, in order (recorded with `ssl_context` only)."""
        with self._lock:
            return list(self._connections)

    @property
    def tls_failures(self) -> list[str]:
        """One message per TLS handshake that failed (with `ssl_context` only)."""
        with self._lock:
            return list(self._tls_failures)

    def wait_for_tls_failures(self, n: int, timeout: float = 5.0) -> list[str]:
        """Block until at least `n` handshakes failed; raise TimeoutError otherwise."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._tls_failures) >= n, timeout):
                raise TimeoutError(f"fake upstream saw {len(self._tls_failures)} failed handshake(s), expected {n}")
            return list(self._tls_failures)

    def wait_for_connection(self, peer: tuple[str, int], timeout: float = 5.0) -> list[tuple[str, int]]:
        """Block until the connection from `peer` was accepted; return the connections accepted before it.
        Connections are accepted in arrival order, so this is a barrier for every earlier one."""
        with self._lock:
            if not self._lock.wait_for(lambda: peer in self._connections, timeout):
                raise TimeoutError(f"fake upstream did not accept the connection from {peer}")
            return self._connections[: self._connections.index(peer)]

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least `n` requests arrived; raise TimeoutError otherwise."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= n, timeout):
                raise TimeoutError(f"fake upstream got {len(self._requests)} request(s), expected {n}")
            return list(self._requests)

    def _next(self, path: str) -> Responder | None:
        with self._lock:
            for key in (path, "*"):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            for key in (path, "*"):
                if key in self._always:
                    return self._always[key]
        return None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FakeUpstream:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._open())
            except BaseException as e:  # surfaced to the caller of start()
                errors.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-upstream", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    async def _open(self) -> None:
        self._stop = asyncio.Event()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port, limit=_MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self._ssl else 'http'}://127.0.0.1:{self.port}"

    async def _close(self) -> None:
        assert self._server is not None and self._stop is not None
        self._stop.set()
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    # -- connection handling ---------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = _Conn(reader)
        seen: list[RecordedRequest] = []
        try:
            if self._ssl is not None and not await self._handshake(writer, self._ssl):
                return
            while True:
                req = await self._read_request(conn)
                if req is None:
                    break
                if req.path.startswith("/_fake/"):
                    await self._control(req, writer)
                    continue
                seen.append(req)
                with self._lock:
                    self._requests.append(req)
                    self._lock.notify_all()
                responder = self._next(req.path)
                if responder is None:
                    answer: Response = Json(
                        {
                            "type": "error",
                            "error": {"type": "not_found_error", "message": f"fake: nothing scripted for {req.path}"},
                        },
                        404,
                    )
                else:
                    answer = responder(req) if callable(responder) else responder
                if not await self._send(answer, req, conn, writer):
                    break
                if req.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            now = time.monotonic()
            for req in seen:
                if not req.closed.is_set():
                    req.closed_at = now
                    req.closed.set()
            self._tasks.discard(task)

    async def _handshake(self, writer: asyncio.StreamWriter, context: ssl.SSLContext) -> bool:
        """Record the TCP connection, then upgrade it to TLS; False (and recorded) when that fails."""
        with self._lock:
            self._connections.append(writer.get_extra_info("peername")[:2])
            self._lock.notify_all()
        try:
            await writer.start_tls(context, ssl_handshake_timeout=5.0)
        except (ssl.SSLError, OSError, TimeoutError) as exc:
            with self._lock:
                self._tls_failures.append(f"{type(exc).__name__}: {exc}")
                self._lock.notify_all()
            return False
        return True

    async def _read_request(self, conn: _Conn) -> RecordedRequest | None:
        head = await conn.read_until(b"\r\n\r\n")
        if head is None:
            return None
        lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        raw_headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            raw_headers.append((name.strip(), value.strip()))
        headers = {k.lower(): v for k, v in raw_headers}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked(conn)
        else:
            body = await conn.read_exactly(int(headers.get("content-length", "0") or 0))
        if body is None:
            return None
        path, _, query = target.partition("?")
        return RecordedRequest(method, path, query, headers, raw_headers, body, time.monotonic())

    @staticmethod
    async def _read_chunked(conn: _Conn) -> bytes | None:
        body = bytearray()
        while True:
            size_line = await conn.read_until(b"\r\n")
            if size_line is None:
                return None
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await conn.read_until(b"\r\n")  # trailers ignored: only the final CRLF expected
                return bytes(body)
            data = await conn.read_exactly(size + 2)
            if data is None:
                return None
            body += data[:-2]

    async def _send(self, answer: Response, req: RecordedRequest, conn: _Conn, writer: asyncio.StreamWriter) -> bool:
        """Write one answer; False when the connection must not be reused."""
        if isinstance(answer, Hang):
            await self._wait_peer_or_stop(conn)
            return False
        if isinstance(answer, Close):
            if answer.rst:
                _reset(writer)
            return False
        if isinstance(answer, Json | Raw):
            ctype: str | None
            if isinstance(answer, Json):
                body, ctype = orjson.dumps(answer.body), "application/json"
            else:
                body, ctype = answer.body, answer.content_type
            extra = {"content-length": str(len(body))}
            if ctype:
                extra["content-type"] = ctype
            writer.write(_head(answer.status, {**extra, **answer.headers}))
            if req.method != "HEAD":
                writer.write(body)
            await writer.drain()
            return True
        return await self._stream(answer, conn, writer)

    async def _stream(self, answer: Stream, conn: _Conn, writer: asyncio.StreamWriter) -> bool:
        if answer.headers_delay:
            await _pause(conn, answer.headers_delay)
        head = {"content-type": answer.content_type, "cache-control": "no-cache", "transfer-encoding": "chunked"}
        writer.write(_head(answer.status, {**head, **answer.headers}))
        await writer.drain()
        for i, chunk in enumerate(answer.chunks):
            pause = answer.delays[i] if answer.delays is not None else (answer.delay if i else 0.0)
            if pause:
                await _pause(conn, pause)
            if chunk:  # an empty HTTP chunk would end the body
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
        if answer.end == "complete":
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        if answer.end == "rst":
            _reset(writer)
        elif answer.end == "hang":
            await self._wait_peer_or_stop(conn)
        return False

    async def _wait_peer_or_stop(self, conn: _Conn) -> None:
        """Stay silent until the client closes its end or the fake is stopped."""
        assert self._stop is not None
        stop = asyncio.create_task(self._stop.wait())
        try:
            while True:
                read = asyncio.create_task(conn.fill())
                done, _ = await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
                if stop in done:
                    read.cancel()
                    return
                if not read.result():
                    return
        finally:
            stop.cancel()

    async def _control(self, req: RecordedRequest, writer: asyncio.StreamWriter) -> None:
        if req.path == "/_fake/requests":
            body = orjson.dumps([r.summary() for r in self.requests])
        elif req.path == "/_fake/script" and req.method == "POST":
            self.load_script(orjson.loads(req.body))
            body = b'{"ok":true}'
        else:
            body = b'{"error":"unknown control path"}'
        writer.write(_head(200, {"content-type": "application/json", "content-length": str(len(body))}) + body)
        await writer.drain()


def _head(status: int, headers: dict[str, str] | Iterable[tuple[str, str]]) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Site Overloaded" if status == 529 else "Unknown"
    items = headers.items() if isinstance(headers, dict) else headers
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in items)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _pause(conn: _Conn, seconds: float) -> None:
    """Sleep, but notice at once when the peer hangs up (so `closed_at` is exact); raise then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        read = asyncio.ensure_future(conn.fill())
        done, _ = await asyncio.wait({read}, timeout=left)
        if not done:
            read.cancel()
            return
        if not read.result():
            raise ConnectionResetError("peer closed the connection")


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN: SO_LINGER on, timeout 0."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
