"""One config or rule file from bytes to a schema-checked JSON value, with every problem located."""

from __future__ import annotations

from dataclasses import dataclass, field

from cc_proxy.engine.errors import ConfigProblem, Severity
from cc_proxy.engine.json_source import JsonSyntaxError, ParsedJson, index_path, key_path, line_col, parse_json
from cc_proxy.engine.schema_errors import SchemaChecker
from pydantic import BaseModel, ValidationError

MAX_FILE_BYTES = 4 * 1024 * 1024
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file's name (as shown in problems) and its raw bytes. `shipped`: a rule file cc-proxy ships
    (`builtin:NAME`), whose rules the user's own rule files may replace by id."""

    path: str
    data: bytes = field(repr=False)
    shipped: bool = False


@dataclass(frozen=True, slots=True)
class Locator:
    """Builds problems for one file, placed at the line and column of a JSON path."""

    file: str
    parsed: ParsedJson | None = None

    def problem(self, json_path: str, code: str, message: str, severity: Severity = "error") -> ConfigProblem:
        where = self.parsed.locate(json_path) if self.parsed is not None else None
        line, col = where if where is not None else (None, None)
        return ConfigProblem(code, message, self.file, json_path, line, col, severity)


def _decode(src: SourceFile, locator: Locator) -> tuple[str | None, list[ConfigProblem]]:
    if len(src.data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        return None, [locator.problem("$", "file-too-large", f"file is larger than {limit} MiB")]
    try:
        text = src.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        starts = (0, *(i + 1 for i, b in enumerate(src.data[: exc.start]) if b == 0x0A))
        line, col = line_col(starts, exc.start)
        problem = ConfigProblem("encoding", "the file is not valid UTF-8", src.path, "$", line, col)
        return None, [problem]
    return (text[1:] if text.startswith(_BOM) else text), []


def parse_source(
    src: SourceFile, checker: SchemaChecker, model: type[BaseModel]
) -> tuple[Locator, BaseModel | None, list[ConfigProblem]]:
    """Decode, parse, check against the schema, build the model. The model is None when any error
    was found; the locator places later (semantic) problems in this file."""
    locator = Locator(src.path)
    text, problems = _decode(src, locator)
    if text is None:
        return locator, None, problems
    try:
        parsed = parse_json(text)
    except JsonSyntaxError as exc:
        starts = (0, *(i + 1 for i, ch in enumerate(text[: exc.offset]) if ch == "\n"))
        line, col = line_col(starts, exc.offset)
        return locator, None, [ConfigProblem(exc.code, exc.message, src.path, "$", line, col)]
    locator = Locator(src.path, parsed)
    for dup in parsed.duplicates:
        line, col = parsed.line_col(dup.offset)
        message = f"duplicate key {dup.key!r} (JSON keeps only the last one)"
        problems.append(ConfigProblem("duplicate-key", message, src.path, dup.json_path, line, col))
    # The model and the schema accept the same documents (tests/load/test_schema.py), and pydantic is
    # ~10x faster than jsonschema: validate with it, and ask the schema only for the messages.
    try:
        built = model.model_validate(parsed.value)
    except ValidationError as exc:
        problems.extend(_schema_problems(parsed, checker, locator) or _model_problems(exc, locator))
        return locator, None, problems
    except RecursionError:
        problems.append(locator.problem("$", "json-too-deep", "the document nests too deeply"))
        return locator, None, problems
    return locator, (None if problems else built), problems


def _schema_problems(parsed: ParsedJson, checker: SchemaChecker, locator: Locator) -> list[ConfigProblem]:
    try:
        findings = checker.findings(parsed.value)
    except RecursionError:
        return [locator.problem("$", "json-too-deep", "the document nests too deeply")]
    problems: list[ConfigProblem] = []
    for json_path, code, message, at_key in findings:
        if at_key and json_path in parsed.positions:
            line, col = parsed.line_col(parsed.positions[json_path])
            problems.append(ConfigProblem(code, message, locator.file, json_path, line, col))
        else:
            problems.append(locator.problem(json_path, code, message))
    return problems


def _model_problems(exc: ValidationError, locator: Locator) -> list[ConfigProblem]:
    """Only if the schema found nothing: a gap between model and schema (a bug), still reported."""
    return [locator.problem(_loc_path(e["loc"]), "invalid-value", e["msg"]) for e in exc.errors()]


def _loc_path(loc: tuple[int | str, ...]) -> str:
    path = "$"
    for part in loc:
        path = index_path(path, part) if isinstance(part, int) else key_path(path, part)
    return path
