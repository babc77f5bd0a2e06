"""Server-sent events: an incremental decoder (WHATWG event-stream rules) and an encoder.

The decoder runs on every upstream chunk of every stream, so it works on bytes and splits lines with
`bytes.splitlines` (which, unlike `str.splitlines`, breaks only on CR, LF and CRLF: exactly the SSE
line ends). A line is decoded only once it is complete, so a UTF-8 sequence split across chunks is
never decoded in halves. Memory is bounded: one event (its data plus any unterminated line) may not
exceed `max_event_bytes`.
"""

from __future__ import annotations

from collections.abc import Iterable

from cc_proxy.engine.wire.types import SSEEvent

DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


class SSEEventTooLarge(ValueError):
    """One event (or one unterminated line) grew past the configured cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"SSE event larger than {limit} bytes")


class SSEDecoder:
    """Feed raw bytes, get complete events. An event is dispatched only on a blank line."""

    __slots__ = (
        "_bom_pending",
        "_data",
        "_data_size",
        "_event",
        "_has_data",
        "_limit",
        "_partial",
        "_partial_len",
        "_skip_lf",
    )

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._limit = max_event_bytes
        self._partial: list[bytes] = []  # pieces of the current, unterminated line (joined once it ends)
        self._partial_len = 0
        self._skip_lf = False  # the last chunk ended in CR: a leading LF is its CRLF partner
        self._bom_pending = True  # a BOM may only appear at the very start of the stream
        self._data: list[str] = []
        self._data_size = 0
        self._has_data = False
        self._event: str | None = None

    @property
    def pending(self) -> bool:
        """True when bytes of an undispatched event are held (the stream would end mid-event)."""
        return bool(self._partial_len) or self._has_data or self._event is not None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Decode a chunk; return the events it completes, in order."""
        events: list[SSEEvent] = []
        self._feed(chunk, events, None)
        return events

    def feed_with_ends(self, chunk: bytes) -> tuple[list[SSEEvent], list[int]]:
        """Like `feed`, also giving for each event the offset in `chunk` just past its blank line.

        Lets a relay splice raw bytes around one event without re-encoding the rest.
        """
        events: list[SSEEvent] = []
        ends: list[int] = []
        self._feed(chunk, events, ends)
        return events, ends

    def finish(self, *, dispatch_incomplete: bool = False) -> list[SSEEvent]:
        """End of stream. Per WHATWG an event without its blank line is discarded; lenient callers
        (upstreams that end with `data: [DONE]` and no newline) may ask to dispatch it instead."""
        events: list[SSEEvent] = []
        if dispatch_incomplete:
            if self._partial_len:
                self._line(b"".join(self._partial))
            self._dispatch(events)
        self._partial, self._partial_len = [], 0
        self._reset()
        return events

    # -- internals -------------------------------------------------------------------------------

    def _feed(self, chunk: bytes, events: list[SSEEvent], ends: list[int] | None) -> None:
        start = 0  # bytes of `chunk` consumed before the buffer below begins
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                start = 1
        if self._bom_pending:
            head = b"".join(self._partial) + chunk[start:]
            if len(head) < 3 and _BOM.startswith(head):
                self._partial = [head]  # could still become a BOM: wait for more bytes
                self._partial_len = len(head)
                return
            self._bom_pending = False
            if head.startswith(_BOM):
                # `_partial` held only a BOM prefix: the rest of the BOM is at the start of `chunk`.
                start += 3 - self._partial_len
                self._partial, self._partial_len = [], 0
        # The held partial line has no line end, so only the new bytes need scanning.
        cut = max(chunk.rfind(b"\n", start), chunk.rfind(b"\r", start))
        if cut < 0:
            if start < len(chunk):
                self._partial.append(chunk[start:] if start else chunk)
                self._partial_len += len(chunk) - start
                if self._partial_len > self._limit:
                    raise SSEEventTooLarge(self._limit)
            return
        prefix_len = self._partial_len
        if prefix_len:
            self._partial.append(chunk[start : cut + 1])
            lines = b"".join(self._partial)
        else:
            lines = chunk[start : cut + 1] if start or cut + 1 < len(chunk) else chunk
        rest = chunk[cut + 1 :]
        self._partial, self._partial_len = ([rest], len(rest)) if rest else ([], 0)
        if len(rest) > self._limit:
            raise SSEEventTooLarge(self._limit)
        if cut == len(chunk) - 1 and chunk[cut] == 13:  # ends in CR: its LF may open the next chunk
            self._skip_lf = True
        if ends is not None:
            pos = start - prefix_len  # offset in `chunk` of lines[0]
            for line in lines.splitlines(keepends=True):
                pos += len(line)
                body = line.rstrip(b"\r\n")
                if body:
                    self._line(body)
                elif self._dispatch(events):
                    ends.append(pos)
            return
        # Hot path: the common `data: ` and `event: ` lines handled inline, the rest by `_line`.
        for line in lines.splitlines():
            if not line:
                self._dispatch(events)
            elif line[:6] == b"data: ":
                self._data_size += len(line) - 5
                if self._data_size > self._limit:
                    raise SSEEventTooLarge(self._limit)
                self._data.append(line[6:].decode("utf-8", "replace"))
                self._has_data = True
            elif line[:7] == b"event: ":
                self._event = line[7:].decode("utf-8", "replace") or None
            else:
                self._line(line)

    def _line(self, line: bytes) -> None:
        colon = line.find(b":")
        if colon == 0:
            return  # comment
        if colon < 0:
            name, value = line, b""
        else:
            name = line[:colon]
            value = line[colon + 2 :] if line[colon + 1 : colon + 2] == b" " else line[colon + 1 :]
        if name == b"data":
            self._data_size += len(value) + 1
            if self._data_size > self._limit:
                raise SSEEventTooLarge(self._limit)
            self._data.append(value.decode("utf-8", "replace"))
            self._has_data = True
        elif name == b"event":
            self._event = value.decode("utf-8", "replace") or None
        # `id`, `retry` and unknown fields are accepted and ignored.

    def _dispatch(self, events: list[SSEEvent]) -> bool:
        if not self._has_data:
            self._event = None  # WHATWG: an event with no data line is dropped, type reset
            return False
        data = self._data
        events.append(SSEEvent(data[0] if len(data) == 1 else "\n".join(data), self._event))
        self._reset()
        return True

    def _reset(self) -> None:
        self._data = []
        self._data_size = 0
        self._has_data = False
        self._event = None


def encode(event: SSEEvent) -> bytes:
    """`event: X\\ndata: ...\\n\\n`; data with line breaks becomes several `data:` lines."""
    data = event.data
    if "\n" in data or "\r" in data:
        data = "\ndata: ".join(data.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    name = event.event
    if name is None:
        return f"data: {data}\n\n".encode()
    if "\n" in name or "\r" in name:
        raise ValueError("SSE event name contains a line break")
    return f"event: {name}\ndata: {data}\n\n".encode()


def encode_all(events: Iterable[SSEEvent]) -> bytes:
    """Several events as one chunk."""
    return b"".join(encode(e) for e in events)
