"""Compressed upstream bodies, decoded a bounded step at a time and capped (decompression bombs).

The proxy asks for no content coding (httpx's default `accept-encoding` is dropped, a client's is never
forwarded), yet an upstream or a CDN in front of it may still compress. gzip and deflate are decoded
here with zlib's `max_length`, so one small compressed read never expands to more than STEP bytes in
memory, and the decoded total is capped: past `limit` the body is refused (DecodedTooLarge), whether
it is a JSON answer or a stream. Any other coding (br, zstd, compress...) is refused by name
(UnsupportedEncoding): the proxy never asked for it and carries no decoder for it.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

STEP = 64 * 1024  # most decoded bytes one decompress call may produce


class DecodedTooLarge(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"answer decompresses past {limit} bytes")


class UnsupportedEncoding(ValueError):
    def __init__(self, encoding: str) -> None:
        super().__init__(f"answer has content-encoding {encoding[:40]!r}, which the proxy does not decode")


def needs_decoding(encoding: str) -> bool:
    return encoding not in ("", "identity")


async def decoded_chunks(raw: AsyncIterator[bytes], encoding: str, limit: int) -> AsyncIterator[bytes]:
    """The decoded body of `raw` (chunks as they arrive, each at most STEP bytes)."""
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = None  # zlib-wrapped (RFC 9110) or, as some servers send, raw: decided by the first bytes
    else:
        raise UnsupportedEncoding(encoding)
    total = 0
    async for chunk in raw:
        if decoder is None:
            decoder = zlib.decompressobj(zlib.MAX_WBITS if _zlib_header(chunk) else -zlib.MAX_WBITS)
        data = chunk
        while data and not decoder.eof:
            try:
                out = decoder.decompress(data, STEP)
            except zlib.error as exc:
                raise ValueError(f"answer is not valid {encoding}: {exc}") from None
            total += len(out)
            if total > limit:
                raise DecodedTooLarge(limit)
            if out:
                yield out
            data = decoder.unconsumed_tail
    if decoder is not None:
        tail = decoder.flush()
        if len(tail) + total > limit:
            raise DecodedTooLarge(limit)
        if tail:
            yield tail


def _zlib_header(data: bytes) -> bool:
    """RFC 1950: CM 8 in the low nibble of the first byte, the first two bytes a multiple of 31."""
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
