"""The PDF text extractor the server injects into engine.emulate (documents for upstreams that take no
files): pypdf, a pure-Python, well-kept PDF library, imported on first use (most configs never need it).

Bounded: at most MAX_PAGES pages and MAX_CHARS characters of text come out, so a huge PDF cannot turn
into a huge prompt; a PDF that cannot be read raises ValueError with a short reason (never a traceback).
"""

from __future__ import annotations

import base64
import binascii
import io
import logging

MAX_PAGES = 200
MAX_CHARS = 400_000


def pdf_text(data: str) -> str:
    """The text of a base64 PDF, page by page; ValueError when it is not a readable PDF."""
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about odd files are not ours to log

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages = reader.pages
        texts: list[str] = []
        size = 0
        for number, page in enumerate(pages):
            if number >= MAX_PAGES or size >= MAX_CHARS:
                texts.append(f"[... {len(pages) - number} more page(s) not extracted]")
                break
            text = page.extract_text() or ""
            texts.append(text)
            size += len(text)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise ValueError(f"unreadable PDF ({type(exc).__name__})") from None
    out = "\n\n".join(texts)
    return out[:MAX_CHARS]
