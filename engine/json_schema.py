"""The JSON Schemas of cc-proxy.json and rule files, generated from the pydantic models.

schemas/*.json are this output written to disk for editors (tests/load/test_schema_files.py fails
when they are stale and says how to regenerate). The loader validates with the in-memory copy.
"""

from __future__ import annotations

import functools
from typing import Any

from cc_proxy.engine.config import ConfigFile
from cc_proxy.engine.rule_models import RuleFileModel
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _Generator(GenerateJsonSchema):
    """Pydantic's generator minus noise: no per-field titles, and `X | None = None` is just X (the
    models reject null: a key is given or left out)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        result = super().default_schema(schema)
        if result.get("default", ...) is None:
            del result["default"]
        return result


def _generate(model: type[BaseModel]) -> dict[str, Any]:
    body = model.model_json_schema(schema_generator=_Generator, mode="validation")
    return {"$schema": DIALECT, **body}


@functools.cache
def config_schema() -> dict[str, Any]:
    return _generate(ConfigFile)


@functools.cache
def rules_schema() -> dict[str, Any]:
    return _generate(RuleFileModel)
