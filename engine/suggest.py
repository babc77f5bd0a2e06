""" "Did you mean ...?" for unknown keys, names and aliases."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate, if one is close enough to be a likely typo (case-insensitive)."""
    options = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=0.6)
    return options[match[0]] if match else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean 'base_url'?` or an empty string."""
    best = nearest(word, candidates)
    return f"; did you mean {best!r}?" if best is not None else ""
