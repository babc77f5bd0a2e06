"""Errors are data with one renderer: config problems for `check`/reload, proxy errors for clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a config or rule file, located as precisely as we can."""

    code: str  # stable kebab-case identifier, e.g. "unknown-key", "json-syntax", "unset-env"
    message: str
    file: str
    json_path: str = "$"
    line: int | None = None
    col: int | None = None
    severity: Severity = "error"

    def render(self) -> str:
        """`file:line:col: code: message (at $.json.path)`; what `check` and reload print."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.code}: {self.message} (at {self.json_path})"


class ConfigError(Exception):
    """Loading failed; carries every problem found (errors and warnings), never a secret value."""

    def __init__(self, problems: tuple[ConfigProblem, ...]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in configuration")


# Anthropic error types (https://docs.anthropic.com/en/api/errors) by HTTP status.
ERROR_TYPE_BY_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class ProxyError(Exception):
    """A failure the proxy answers itself, rendered as an Anthropic error body."""

    status: int
    message: str
    error_type: str = ""
    should_retry: bool | None = None  # rendered as `x-should-retry` when set
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.error_type:
            object.__setattr__(self, "error_type", ERROR_TYPE_BY_STATUS.get(self.status, "api_error"))

    def body(self) -> dict[str, object]:
        return {"type": "error", "error": {"type": self.error_type, "message": self.message}}
