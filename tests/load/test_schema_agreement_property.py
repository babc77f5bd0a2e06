"""The loader validates with the pydantic models and asks the JSON Schema only for messages, so the two
must accept exactly the same documents: checked here on random mutations of the shipped files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from cc_proxy.engine.config import ConfigFile
from cc_proxy.engine.json_schema import config_schema, rules_schema
from cc_proxy.engine.rule_models import RuleFileModel

REPO = Path(__file__).resolve().parents[2]
EXTRA_RULES = {
    "routing": [{"id": "h", "when": {"header": {"name": "x", "present": True}, "not": {"tools": True}}, "model": "m"}],
    "rewrite": [
        {"id": "w", "when": {"target": {"glob": "g*"}}, "set": {"a": {"jmespath": "b"}}, "tools": {"allow": []}}
    ],
}

leaf = (
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.floats(-1, 1e6, allow_nan=False)
    | st.sampled_from(["", "8k", "1.5M", "32MiB", "x", "openai", "max_tokens", "https://a.example/v1", "/p", "*"])
)
json_value = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "model", "glob", ">"]), inner, max_size=2)
    ),
    max_leaves=6,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*path, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_paths(value, (*path, i)))
    return out


def _mutate(doc: Any, data: st.DataObject) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(doc)[1:]
        if not paths:  # an earlier mutation deleted everything: nothing left to change
            break
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = data.draw(st.sampled_from(["replace", "delete", "add-key"]))
        if action == "replace":
            parent[path[-1]] = data.draw(json_value)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["extra", "model", "when", "fallbacks", "drop", "not"]))] = data.draw(
                json_value
            )
    return doc


def _accepts(model: type[BaseModel], doc: Any) -> bool:
    try:
        model.model_validate(doc)
    except ValidationError:
        return False
    return True


CASES = {
    "config": (ConfigFile, config_schema, json.loads((REPO / "cc-proxy.json.example").read_text())),
    "rules": (RuleFileModel, rules_schema, {**json.loads((REPO / "rules" / "default.json").read_text())}),
    "rules-extra": (RuleFileModel, rules_schema, EXTRA_RULES),
}


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_model_and_schema_agree_on_mutations(name: str, data: st.DataObject) -> None:
    model, schema, base = CASES[name]
    doc = _mutate(base, data)
    schema_ok = Draft202012Validator(schema()).is_valid(doc)
    assert _accepts(model, doc) == schema_ok, json.dumps(doc)
