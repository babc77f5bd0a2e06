"""The front-door tests share the server tests' stack: one real proxy per module before a FakeUpstream."""

from __future__ import annotations

from tests.server.conftest import module_stack, stack

__all__ = ["module_stack", "stack"]
