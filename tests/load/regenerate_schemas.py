"""Write schemas/*.json from the pydantic models: `.venv/bin/python tests/load/regenerate_schemas.py`."""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cc_proxy.engine.json_schema import config_schema, rules_schema  # noqa: E402

FILES = {"cc-proxy.schema.json": config_schema, "rules.schema.json": rules_schema}


def render(name: str) -> str:
    return json.dumps(FILES[name](), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for name in FILES:
        (ROOT / "schemas" / name).write_text(render(name), encoding="utf-8")
        print(f"wrote schemas/{name}")
