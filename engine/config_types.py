"""Building blocks shared by the config and rule-file models: the strict base model and value types
(token/byte counts with shorthand, names, seconds)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from annotated_types import Ge
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

# "8k" = 8,000, "200K", "1M", "1.5k"; binary "32Ki"/"32KiB"/"32MiB" = 32 * 1024**n (as engine.rules reads them)
URL_PATTERN = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"  # no query or fragment: a key there would be logged
COUNT_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*([kKmMgG]i?B?)?\s*$"
_COUNT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:([kKmMgG])(i?)B?)?\s*")
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3}


def parse_count(text: str) -> int | None:
    """`"64k"` -> 64000, `"32MiB"` -> 33554432; None if `text` is not such a shorthand."""
    m = _COUNT.fullmatch(text)
    if m is None:
        return None
    number, unit, binary = m.groups()
    return int(float(number) * (1024 if binary else 1000) ** _POWERS[(unit or "").lower()])


def _coerce_count(value: Any) -> Any:
    if isinstance(value, str):
        count = parse_count(value)
        if count is None:
            raise ValueError('expected a number or a shorthand like "8k", "200K", "1M", "32MiB"')
        return count
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[
    StrictInt,
    BeforeValidator(_coerce_count),
    Ge(0),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": COUNT_PATTERN},
            ]
        }
    ),
]
Seconds = Annotated[StrictFloat, Field(gt=0)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
NonEmpty = Annotated[StrictStr, Field(min_length=1)]


class Strict(BaseModel):
    """Base of every config model: immutable, unknown keys rejected, `null` rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None:
                    raise ValueError(f"{key!r} is null: leave the key out to use its default")
        return data
