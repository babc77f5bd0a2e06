"""Image token cost by Anthropic's documented rule, with dimensions read from the image header.

Anthropic resizes an image to fit 1568 px on the long edge and about 1.15 megapixels, then bills
width * height / 750 tokens (so at most ~1,600). Base64 images carry their size in the first bytes
(PNG IHDR, GIF screen descriptor, WebP VP8/VP8L/VP8X, JPEG SOF marker): we decode only a prefix.
"""

from __future__ import annotations

import binascii
import math
from typing import Any

MAX_LONG_EDGE = 1568
MAX_PIXELS = 1_150_000
PIXELS_PER_TOKEN = 750
MAX_IMAGE_TOKENS = 1600
UNKNOWN_IMAGE_TOKENS = 1600  # URL, file id or unreadable header: assume the largest image
# Base64 characters decoded while looking for a JPEG frame header (EXIF blocks can come first).
_PREFIX_STEPS = (4096, 65536, 262144)


def tokens_for_size(width: int, height: int) -> int:
    if width <= 0 or height <= 0:
        return UNKNOWN_IMAGE_TOKENS
    w, h = float(width), float(height)
    long_edge = max(w, h)
    if long_edge > MAX_LONG_EDGE:
        scale = MAX_LONG_EDGE / long_edge
        w, h = w * scale, h * scale
    if w * h > MAX_PIXELS:
        scale = math.sqrt(MAX_PIXELS / (w * h))
        w, h = w * scale, h * scale
    return max(1, min(MAX_IMAGE_TOKENS, math.ceil(w * h / PIXELS_PER_TOKEN)))


def image_tokens(source: Any) -> int:
    """Tokens for an image block's `source`."""
    if not isinstance(source, dict) or source.get("type") != "base64":
        return UNKNOWN_IMAGE_TOKENS
    data = source.get("data")
    if not isinstance(data, str):
        return UNKNOWN_IMAGE_TOKENS
    size = base64_image_size(data)
    return tokens_for_size(*size) if size else UNKNOWN_IMAGE_TOKENS


def base64_image_size(data: str) -> tuple[int, int] | None:
    """(width, height) from the header of a base64 PNG/JPEG/GIF/WebP, or None."""
    for step in _PREFIX_STEPS:
        prefix = data[:step]
        prefix = prefix[: len(prefix) - len(prefix) % 4]
        try:
            head = binascii.a2b_base64(prefix)
        except (binascii.Error, ValueError):
            return None
        size, need_more = image_size(head)
        if size is not None or not need_more or len(data) <= step:
            return size
    return None


def image_size(head: bytes) -> tuple[tuple[int, int] | None, bool]:
    """(size or None, whether more bytes could help) from the first bytes of an image file."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(head) < 24:
            return None, True
        return (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")), False
    if head[:6] in (b"GIF87a", b"GIF89a"):
        if len(head) < 10:
            return None, True
        return (int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")), False
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp_size(head), len(head) < 30
    if head[:2] == b"\xff\xd8":
        return _jpeg_size(head)
    return None, False


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30:
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(head) >= 30:
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    return None


# Start-of-frame markers carry the dimensions; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(head: bytes) -> tuple[tuple[int, int] | None, bool]:
    i, n = 2, len(head)
    while i + 4 <= n:
        if head[i] != 0xFF:
            return None, False
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # standalone markers carry no length
            i += 2
            continue
        length = int.from_bytes(head[i + 2 : i + 4], "big")
        if marker in _SOF_MARKERS:
            if i + 9 > n:
                return None, True
            height = int.from_bytes(head[i + 5 : i + 7], "big")
            width = int.from_bytes(head[i + 7 : i + 9], "big")
            return (width, height), False
        if length < 2:
            return None, False
        i += 2 + length
    return None, True
