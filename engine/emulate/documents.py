"""PDF `document` blocks for upstreams that take no files: their text, extracted, in a text block.

Claude Code's Read tool sends a PDF as a `document` block (base64, `application/pdf`) inside a
`tool_result`; a user may attach one to a turn. Upstreams that accept files (profile `pdf_files`: the
Anthropic API, OpenAI `file` parts, Gemini inline data) get the file itself from their wire. For the
others, each PDF document, at the top of a user turn or inside a `tool_result`, becomes a text block
holding the text the server's extractor (server/pdf_text.py, pypdf) read from it, marked as extracted,
so the model knows it sees a conversion; never dropped silently. The extractor is injected (the engine
does no I/O and parses no files itself); without one the block says its text is not available.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PdfText = Callable[[str], str]  # base64 PDF data -> its text (raises ValueError when unreadable)

EXTRACTED = "[PDF document {name}: text extracted by cc-proxy (this model takes no files); layout and images are lost]"
UNREADABLE = "[PDF document {name}: not sent (this model takes no files) and its text could not be extracted: {why}]"
_PDF = "application/pdf"


def documents_as_text(request: dict[str, Any], extract: PdfText | None, notes: list[str]) -> dict[str, Any]:
    messages = request.get("messages")
    if not isinstance(messages, list):
        return request
    out: list[Any] | None = None
    converted = 0
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list) or message.get("role") != "user":
            continue
        blocks: list[Any] | None = None
        for position, block in enumerate(content):
            if not isinstance(block, dict):
                continue
            replaced: Any = None
            if _is_pdf(block):
                replaced = _as_text(block, extract)
            elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                inner = block["content"]
                if any(_is_pdf(item) for item in inner):
                    replaced = {**block, "content": [_as_text(i, extract) if _is_pdf(i) else i for i in inner]}
            if replaced is None:
                continue
            converted += 1
            if blocks is None:
                blocks = list(content)
            blocks[position] = replaced
        if blocks is not None:
            if out is None:
                out = list(messages)
            out[index] = {**message, "content": blocks}
    if out is None:
        return request
    notes.append(f"documents: {converted} block(s) with a PDF sent as extracted text (this upstream takes no files)")
    return {**request, "messages": out}


def _is_pdf(block: Any) -> bool:
    if not isinstance(block, dict) or block.get("type") != "document":
        return False
    source = block.get("source")
    return (
        isinstance(source, dict)
        and source.get("type") == "base64"
        and source.get("media_type", _PDF) == _PDF
        and isinstance(source.get("data"), str)
    )


def _as_text(block: dict[str, Any], extract: PdfText | None) -> dict[str, Any]:
    title = block.get("title")
    name = repr(title) if isinstance(title, str) and title else "(untitled)"
    if extract is None:
        return {"type": "text", "text": UNREADABLE.format(name=name, why="no extractor in this process")}
    try:
        text = extract(block["source"]["data"])
    except ValueError as exc:
        return {"type": "text", "text": UNREADABLE.format(name=name, why=str(exc) or type(exc).__name__)}
    return {"type": "text", "text": EXTRACTED.format(name=name) + "\n" + text}
