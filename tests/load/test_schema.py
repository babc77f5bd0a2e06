"""schemas/*.json are generated from the pydantic models (engine.json_schema); these tests keep the files
current and check that the schema (what editors and the loader's messages use) and the models (what the
loader builds) accept and reject exactly the same documents."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from cc_proxy.engine.config import ConfigFile, InlineProfile
from cc_proxy.engine.json_schema import config_schema
from cc_proxy.engine.profiles import BUILTIN_PROFILES, Profile
from cc_proxy.engine.rule_models import RuleFileModel
from tests.load.regenerate_schemas import FILES, render

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(FILES))
def test_schema_files_are_current(name: str) -> None:
    on_disk = (REPO / "schemas" / name).read_text(encoding="utf-8")
    assert on_disk == render(name), f"schemas/{name} is stale: run .venv/bin/python tests/load/regenerate_schemas.py"


@pytest.mark.parametrize("name", sorted(FILES))
def test_schema_files_are_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((REPO / "schemas" / name).read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_inline_profile_mirrors_the_profile_dataclass() -> None:
    profile_fields = {f.name for f in dataclasses.fields(Profile)} - {"name", "format"}
    assert set(InlineProfile.model_fields) - {"extends"} == profile_fields


def test_every_inline_profile_field_overrides_its_profile_field() -> None:
    """A value of each field's type, through the model, lands on the resolved Profile unchanged."""
    base = BUILTIN_PROFILES["openai"]
    samples: dict[str, Any] = {}
    for f in dataclasses.fields(Profile):
        if f.name in ("name", "format"):
            continue
        current = getattr(base, f.name)
        schema = config_schema()["$defs"]["InlineProfile"]["properties"][f.name]
        if "enum" in schema:
            samples[f.name] = next(v for v in schema["enum"] if v != current)
        elif schema.get("type") == "boolean":
            samples[f.name] = not current
        elif schema.get("type") == "array":
            samples[f.name] = ["x-test"]
        elif schema.get("type") == "integer":
            samples[f.name] = 3
        else:
            samples[f.name] = "x-test"
    inline = InlineProfile.model_validate({"extends": "openai", **samples})
    resolved = dataclasses.replace(base, **inline.overrides())
    for name, value in samples.items():
        expected = tuple(value) if isinstance(value, list) else value
        assert getattr(resolved, name) == expected, name


def _agree(model: type[BaseModel], schema_file: str, doc: Any) -> bool:
    schema = json.loads((REPO / "schemas" / schema_file).read_text())
    schema_ok = Draft202012Validator(schema).is_valid(doc)
    try:
        model.model_validate(doc)
        model_ok = True
    except ValidationError:
        model_ok = False
    assert schema_ok == model_ok, f"schema says {schema_ok}, model says {model_ok} for {doc!r}"
    return schema_ok


BASE_CONFIG: dict[str, Any] = {
    "providers": {"p": {"format": "openai", "base_url": "https://x.example/v1"}},
    "models": {"m": {"provider": "p"}},
    "routes": {"default": "m"},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE_CONFIG)
    *parents, last = path.split("/")
    node: Any = doc
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return doc


CONFIG_CASES: list[tuple[str, Any, bool]] = [
    ("base", BASE_CONFIG, True),
    ("empty object", {}, True),
    ("top-level array", [BASE_CONFIG], False),
    ("$schema", {**BASE_CONFIG, "$schema": "./schemas/cc-proxy.schema.json"}, True),
    ("unknown top key", {**BASE_CONFIG, "rule": []}, False),
    ("null server", {**BASE_CONFIG, "server": None}, False),
    ("port string", _with("server/port", "3456"), False),
    ("port bool", _with("server/port", True), False),
    ("port 0", _with("server/port", 0), True),
    ("port too big", _with("server/port", 70000), False),
    ("timeout int", _with("server/timeouts/connect", 3), True),
    ("timeout zero", _with("server/timeouts/connect", 0), False),
    ("timeout bool", _with("server/timeouts/idle", False), False),
    ("max_body shorthand", _with("server/limits/max_body", "32MiB"), True),
    ("max_body 1.5k", _with("server/limits/max_body", "1.5k"), True),
    ("max_body bad", _with("server/limits/max_body", "32 megs"), False),
    ("max_body negative", _with("server/limits/max_body", -1), False),
    ("max_body float", _with("server/limits/max_body", 1024.0), True),
    ("max_in_flight 0", _with("server/limits/max_in_flight", 0), False),
    ("response_model", _with("server/response_model", "upstream"), True),
    ("response_model bad", _with("server/response_model", "client"), False),
    ("mount_prefix", _with("server/mount_prefix", "/anthropic"), True),
    ("mount_prefix trailing slash", _with("server/mount_prefix", "/anthropic/"), False),
    ("auth_token empty", _with("server/auth_token", ""), False),
    ("retries too many", _with("server/retries/max", 11), False),
    ("retries old name", _with("server/retries/attempts", 3), True),
    ("retries old name too many", _with("server/retries/attempts", 11), False),
    ("provider format bad", _with("providers/p", {"format": "cohere", "base_url": "https://x"}), False),
    ("provider no base_url", _with("providers/p", {"format": "openai"}), False),
    ("base_url not http", _with("providers/p/base_url", "ftp://x"), False),
    ("base_url with query", _with("providers/p/base_url", "https://x/v1?a=1"), False),
    ("api_key forward", _with("providers/p/api_key", "forward"), True),
    ("api_key number", _with("providers/p/api_key", 5), False),
    ("headers", _with("providers/p/headers", {"x-a": "${A}"}), True),
    ("header value number", _with("providers/p/headers", {"x-a": 1}), False),
    ("profile name", _with("providers/p/profile", "ollama"), True),
    ("profile inline", _with("providers/p/profile", {"extends": "openai", "stream_usage": False}), True),
    ("profile inline no extends", _with("providers/p/profile", {"stream_usage": False}), False),
    ("profile inline unknown field", _with("providers/p/profile", {"extends": "openai", "x": 1}), False),
    ("profile inline enum", _with("providers/p/profile", {"extends": "openai", "system_role": "root"}), False),
    ("profile inline globs", _with("providers/p/profile", {"extends": "openai", "reject_fields": ["a", 1]}), False),
    ("profile number", _with("providers/p/profile", 3), False),
    ("model shorthand context", _with("models/m", {"provider": "p", "context": "200K", "max_tokens": "8k"}), True),
    ("model no provider", _with("models/m", {"model": "x"}), False),
    ("model empty name", _with("models/m", {"provider": "p", "model": ""}), False),
    ("model capabilities", _with("models/m", {"provider": "p", "capabilities": {"images": False}}), True),
    ("model capabilities typo", _with("models/m", {"provider": "p", "capabilities": {"image": False}}), False),
    ("model params", _with("models/m", {"provider": "p", "params": {"x": [1, {"y": None}]}}), True),
    ("route object", _with("routes/default", {"model": "m", "fallbacks": ["n"]}), True),
    ("route array", _with("routes/default", ["m"]), False),
    ("route no model", _with("routes/default", {"fallbacks": ["m"]}), False),
    ("route fallbacks string", _with("routes/default", {"model": "m", "fallbacks": "n"}), False),
    ("rules list", {**BASE_CONFIG, "rules": ["builtin:default", "rules/*.json"]}, True),
    ("rules string", {**BASE_CONFIG, "rules": "builtin:default"}, False),
    ("rules empty entry", {**BASE_CONFIG, "rules": [""]}, False),
]


@pytest.mark.parametrize(("doc", "valid"), [(d, v) for _, d, v in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_config_schema_and_model_agree(doc: Any, valid: bool) -> None:
    assert _agree(ConfigFile, "cc-proxy.schema.json", doc) is valid


def _routing(**rule: Any) -> dict[str, Any]:
    return {"routing": [{"id": "r", **rule}]}


def _rewrite(**rule: Any) -> dict[str, Any]:
    return {"rewrite": [{"id": "w", **rule}]}


RULE_CASES: list[tuple[str, Any, bool]] = [
    ("empty file object", {}, True),
    ("top-level array", [], False),
    ("route", _routing(route="think"), True),
    ("model", _routing(model="opus"), True),
    ("route and model", _routing(route="think", model="opus"), False),
    ("no action", _routing(when={"thinking": True}), False),
    ("null route", _routing(route=None, model="opus"), False),
    ("no id", {"routing": [{"route": "think"}]}, False),
    ("bad id", _routing(id="has space", route="x"), False),
    ("tokens", _routing(when={"tokens": {">": "60k", "<=": 200000}}, route="x"), True),
    ("tokens empty", _routing(when={"tokens": {}}, route="x"), False),
    ("tokens unknown op", _routing(when={"tokens": {"!=": 1}}, route="x"), False),
    ("tokens bad count", _routing(when={"tokens": {">": "lots"}}, route="x"), False),
    ("model string", _routing(when={"model": "claude-x"}, route="x"), True),
    ("model contains", _routing(when={"model": {"contains": "haiku"}}, route="x"), True),
    ("model two ops", _routing(when={"model": {"contains": "a", "glob": "b*"}}, route="x"), False),
    ("model no op", _routing(when={"model": {}}, route="x"), False),
    ("model number", _routing(when={"model": 4}, route="x"), False),
    ("flags", _routing(when={"thinking": True, "tools": False, "images": True}, route="x"), True),
    ("flag string", _routing(when={"thinking": "yes"}, route="x"), False),
    ("tool globs", _routing(when={"tool": "mcp__*", "server_tool": "web_search*"}, route="x"), True),
    ("header equals", _routing(when={"header": {"name": "x-a", "equals": "1"}}, route="x"), True),
    ("header present", _routing(when={"header": {"name": "x-a", "present": False}}, route="x"), True),
    ("header no test", _routing(when={"header": {"name": "x-a"}}, route="x"), False),
    ("header two tests", _routing(when={"header": {"name": "x-a", "present": True, "glob": "*"}}, route="x"), False),
    ("header no name", _routing(when={"header": {"equals": "1"}}, route="x"), False),
    ("jmespath", _routing(when={"jmespath": "length(messages) > `3`"}, route="x"), True),
    ("jmespath empty", _routing(when={"jmespath": ""}, route="x"), False),
    ("all/any/not", _routing(when={"all": [{"any": [{"tools": True}]}, {"not": {"images": True}}]}, route="x"), True),
    ("nested bad key", _routing(when={"all": [{"not": {"imagez": True}}]}, route="x"), False),
    ("routing target key", _routing(when={"format": "openai"}, route="x"), False),
    (
        "rewrite target keys",
        _rewrite(when={"format": "openai", "route": "think", "target": {"glob": "g*"}}, clamp="max_tokens"),
        True,
    ),
    ("rewrite nested target", _rewrite(when={"not": {"provider": "p"}}, drop=["a"]), True),
    ("rewrite format bad", _rewrite(when={"format": "cohere"}, drop=["a"]), False),
    ("rewrite no action", _rewrite(when={"format": "openai"}), False),
    (
        "rewrite all actions",
        _rewrite(drop=["a"], set={"b": 1}, map={"c": "d"}, clamp="max_tokens", tools={"deny": ["W*"]}),
        True,
    ),
    ("set jmespath", _rewrite(set={"metadata.user_id": {"jmespath": "x"}}), True),
    ("set null literal", _rewrite(set={"a": None}), True),
    ("drop string", _rewrite(drop="a"), False),
    ("drop empty path", _rewrite(drop=[""]), False),
    ("map number", _rewrite(map={"a": 1}), False),
    ("clamp other", _rewrite(clamp="temperature"), False),
    ("tools empty", _rewrite(tools={}), False),
    ("tools allow", _rewrite(tools={"allow": ["Read", "Edit*"]}), True),
    ("unknown rule key", _rewrite(drop=["a"], route="x"), False),
    ("description", {"description": "d", **_routing(route="x", description="why")}, True),
]


@pytest.mark.parametrize(("doc", "valid"), [(d, v) for _, d, v in RULE_CASES], ids=[c[0] for c in RULE_CASES])
def test_rules_schema_and_model_agree(doc: Any, valid: bool) -> None:
    assert _agree(RuleFileModel, "rules.schema.json", doc) is valid


def test_shipped_files_validate_against_the_schemas_on_disk() -> None:
    config_schema = json.loads((REPO / "schemas" / "cc-proxy.schema.json").read_text())
    rules_schema = json.loads((REPO / "schemas" / "rules.schema.json").read_text())
    Draft202012Validator(config_schema).validate(json.loads((REPO / "cc-proxy.json.example").read_text()))
    rule_files = sorted((REPO / "rules").glob("*.json"))
    assert rule_files
    for path in rule_files:
        Draft202012Validator(rules_schema).validate(json.loads(path.read_text()))
