"""engine.load: bytes + environment -> Snapshot, or every problem at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cc_proxy.engine.errors import ConfigError, ConfigProblem
from cc_proxy.engine.load import ConfigDocument, SourceFile, build_snapshot, parse_config
from cc_proxy.engine.profiles import BUILTIN_PROFILES
from cc_proxy.engine.snapshot import Snapshot
from cc_proxy.engine.source import MAX_FILE_BYTES
from cc_proxy.server.config_files import read_builtin

SECRET = "sk-very-secret-value-0123456789"

CONFIG: dict[str, Any] = {
    "server": {"auth_token": "${PROXY_TOKEN}", "limits": {"max_body": "8MiB"}, "timeouts": {"idle": 30}},
    "providers": {
        "anthropic": {"format": "anthropic", "base_url": "https://api.anthropic.com/", "api_key": "forward"},
        "openai": {
            "format": "openai",
            "base_url": "https://api.openai.com/v1",
            "api_key": "${OPENAI_API_KEY}",
            "headers": {"OpenAI-Organization": "org-${ORG}"},
            "profile": {"extends": "openai", "stream_usage": False, "reasoning_efforts": ["low", "high"]},
        },
        "local": {"format": "openai", "base_url": "http://127.0.0.1:11434/v1", "profile": "ollama"},
    },
    "models": {
        "sonnet": {"provider": "anthropic", "model": "claude-sonnet-4-5", "max_tokens": "64k", "context": "200K"},
        "gpt": {"provider": "openai", "model": "gpt-5", "max_tokens": "1.5k", "context": "1M", "params": {"a": 1}},
        "qwen": {"provider": "local", "capabilities": {"images": False}},
    },
    "routes": {"default": {"model": "sonnet", "fallbacks": ["gpt"]}, "background": "qwen", "cheap": "gpt"},
    "rules": ["builtin:default", "extra.json"],
}
EXTRA_RULES = {
    "routing": [{"id": "cheap-header", "when": {"header": {"name": "x-cheap", "present": True}}, "route": "cheap"}],
    "rewrite": [{"id": "temp", "when": {"route": "cheap"}, "set": {"temperature": 0.2}}],
}
ENV = {"PROXY_TOKEN": "client-token", "OPENAI_API_KEY": SECRET, "ORG": "42"}


def _src(name: str, doc: Any) -> SourceFile:
    return SourceFile(name, json.dumps(doc, indent=2).encode())


def _builtin_default() -> SourceFile:
    data = read_builtin("default")
    assert data is not None
    return SourceFile("builtin:default", data, shipped=True)  # as server/config_files.py reads it


def load(config: Any = CONFIG, rules: Any = EXTRA_RULES, env: dict[str, str] | None = None) -> Snapshot:
    doc = parse_config(_src("cc-proxy.json", config))
    return build_snapshot(doc, [_builtin_default(), _src("extra.json", rules)], ENV if env is None else env)


def problems_of(config: Any = CONFIG, rules: Any = EXTRA_RULES, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(config, rules, env)
    return [p.render() for p in caught.value.problems]


def test_the_builtin_default_loads() -> None:
    doc = parse_config(None)
    assert doc.rule_patterns == ("builtin:default",)
    snapshot = build_snapshot(doc, [_builtin_default()], {})
    assert snapshot.config_file is None
    assert snapshot.routes["default"].model == "anthropic"
    provider = snapshot.providers["anthropic"]
    assert (provider.format, provider.base_url, provider.api_key.kind) == (
        "anthropic",
        "https://api.anthropic.com",
        "forward",
    )
    assert provider.profile is BUILTIN_PROFILES["anthropic"]
    assert snapshot.models["anthropic"].upstream_model is None
    routing = ["long-context", "background", "subagent", "think", "web-search", "image"]
    assert [r.id for r in snapshot.routing_rules] == routing
    assert [r.id for r in snapshot.rewrite_rules] == ["non-anthropic-drop-anthropic-only", "clamp-max-tokens"]
    assert snapshot.warnings == ()


def test_a_full_config_resolves() -> None:
    snapshot = load()
    assert snapshot.server.auth_token == "client-token"
    assert (snapshot.server.max_body, snapshot.server.idle_timeout) == (8 * 1024 * 1024, 30.0)
    openai = snapshot.providers["openai"]
    assert openai.api_key.kind == "env" and openai.api_key.configured and openai.api_key.env_name == "OPENAI_API_KEY"
    assert openai.headers == {"OpenAI-Organization": "org-42"}
    assert openai.profile.stream_usage is False and openai.profile.reasoning_efforts == ("low", "high")
    assert openai.profile.max_tokens_field == BUILTIN_PROFILES["openai"].max_tokens_field  # inherited
    assert snapshot.providers["anthropic"].base_url == "https://api.anthropic.com"  # trailing slash dropped
    assert snapshot.providers["local"].api_key.kind == "none"
    gpt = snapshot.models["gpt"]
    assert (gpt.max_tokens, gpt.context, gpt.params) == (1500, 1_000_000, {"a": 1})
    assert (snapshot.models["sonnet"].max_tokens, snapshot.models["sonnet"].context) == (64_000, 200_000)
    assert snapshot.models["qwen"].capabilities.images is False
    assert snapshot.routes["default"].fallbacks == ("gpt",)
    assert snapshot.rule_files == ("builtin:default", "extra.json")
    assert [r.id for r in snapshot.routing_rules][-1] == "cheap-header"
    assert snapshot.rewrite_rules[-1].file == "extra.json"


def test_default_profile_follows_the_format() -> None:
    config = {
        "providers": {
            "a": {"format": "anthropic", "base_url": "https://a.example"},
            "o": {"format": "openai", "base_url": "https://o.example/v1"},
        },
        "rules": [],
    }
    snapshot = build_snapshot(parse_config(_src("c.json", config)), [], {})
    assert snapshot.providers["a"].profile.name == "anthropic"
    assert snapshot.providers["o"].profile.name == "openai-compatible"
    assert [w.code for w in snapshot.warnings] == ["no-default-route"]


def test_the_version_is_a_content_hash() -> None:
    first, again = load(), load()
    assert first.version == again.version and len(first.version) == 12
    changed_rules = load(rules={**EXTRA_RULES, "description": "edited"})
    changed_env = load(env={**ENV, "OPENAI_API_KEY": SECRET + "x"})
    assert len({first.version, changed_rules.version, changed_env.version}) == 3


def test_an_unset_key_is_a_warning_and_leaves_the_provider_unconfigured() -> None:
    snapshot = load(env={"PROXY_TOKEN": "t"})
    key = snapshot.providers["openai"].api_key
    assert (key.kind, key.value, key.env_name, key.configured) == ("env", None, "OPENAI_API_KEY", False)
    assert "OpenAI-Organization" not in snapshot.providers["openai"].headers
    assert [(w.code, w.severity, w.json_path) for w in snapshot.warnings] == [
        ("unset-env", "warning", "$.providers.openai.api_key"),
        ("unset-env", "warning", "$.providers.openai.headers['OpenAI-Organization']"),
    ]
    assert "OPENAI_API_KEY" in snapshot.warnings[0].message


def test_an_empty_variable_counts_as_unset() -> None:
    snapshot = load(env={**ENV, "OPENAI_API_KEY": ""})
    assert snapshot.providers["openai"].api_key.configured is False


def test_an_unset_auth_token_is_an_error_not_an_open_proxy() -> None:
    rendered = problems_of(env={"OPENAI_API_KEY": SECRET})
    assert any("unset-env" in r and "PROXY_TOKEN" in r and "warning" not in r for r in rendered)


def test_secrets_never_appear_in_problems_or_reprs() -> None:
    config = json.loads(json.dumps(CONFIG))
    config["providers"]["literal"] = {"format": "openai", "base_url": "https://x.example", "api_key": SECRET}
    config["providers"]["keyed-url"] = {"format": "openai", "base_url": f"https://x.example/v1?key={SECRET}"}
    config["models"]["broken"] = {"provider": "nope"}
    rendered = problems_of(config)
    assert any("$.providers['keyed-url'].base_url" in r for r in rendered)
    assert not any(SECRET in r for r in rendered)
    snapshot = load(env={**ENV, "ORG": SECRET})  # a header value may carry a secret too
    assert snapshot.providers["openai"].headers["OpenAI-Organization"] == f"org-{SECRET}"
    assert SECRET not in repr(snapshot) and "client-token" not in repr(snapshot.server)


def test_every_problem_is_reported_at_once() -> None:
    config = json.loads(json.dumps(CONFIG))
    config["providers"]["openai"]["base_ur"] = "x"
    config["models"]["gpt"]["provider"] = "opnai"
    config["routes"]["cheap"] = "missing"
    rules = {"routing": [{"id": "temp", "route": "nowhere"}], "rewrite": [{"id": "temp", "clamp": "max_tokens"}]}
    codes = [line.split(": ")[1] for line in problems_of(config, rules)]
    assert codes == ["unknown-key", "unknown-provider", "unknown-model"]  # the config stops the load first
    codes = [line.split(": ")[1] for line in problems_of(CONFIG, rules)]
    assert codes == ["unknown-route", "duplicate-rule-id"]


def test_an_own_rule_replaces_the_shipped_rule_of_its_id_where_the_user_put_it() -> None:
    mine = {"routing": [{"id": "cheap-header", "when": {"header": {"name": "x-cheap", "present": True}},
                         "route": "cheap"},
                        {"id": "background", "when": {"model": {"glob": "*haiku*"}}, "model": "gpt"}]}
    snapshot = load(rules=mine)
    ids = [(rule.id, rule.file) for rule in snapshot.routing_rules]
    assert ("background", "extra.json") in ids and ("background", "builtin:default") not in ids
    assert ("long-context", "builtin:default") in ids  # the shipped rules it does not name stay
    assert ids.index(("long-context", "builtin:default")) < ids.index(("background", "extra.json"))
    assert [r.id for r in snapshot.routing_rules].count("background") == 1


def test_the_same_id_in_two_of_ones_own_files_is_still_an_error() -> None:
    doc = parse_config(_src("cc-proxy.json", {**CONFIG, "rules": ["a.json", "b.json"]}))
    rule = {"routing": [{"id": "same", "when": {"model": {"glob": "x"}}, "route": "cheap"}]}
    with pytest.raises(ConfigError) as caught:
        build_snapshot(doc, [_src("a.json", rule), _src("b.json", rule)], ENV)
    assert [p.code for p in caught.value.problems if p.severity == "error"] == ["duplicate-rule-id"]


def test_problems_carry_file_line_column_and_path() -> None:
    text = b'{\n  "providers": {\n    "p": {"format": "openai", "base_url": "https://x", "profile": "groc"}\n  }\n}'
    with pytest.raises(ConfigError) as caught:
        parse_config(SourceFile("dir/cc.json", text))
    warning, problem = caught.value.problems  # the warning sits at $ (no `routes` key to point at)
    assert warning.code == "no-default-route" and warning.severity == "warning"
    assert problem == ConfigProblem(
        "unknown-profile", "unknown profile 'groc'; did you mean 'groq'?", "dir/cc.json", "$.providers.p.profile", 3, 56
    )


def test_a_file_above_the_cap_is_an_error() -> None:
    big = b'{"description": "' + b"x" * MAX_FILE_BYTES + b'"}'
    with pytest.raises(ConfigError) as caught:
        parse_config(SourceFile("big.json", big))
    assert [p.code for p in caught.value.problems] == ["file-too-large"]


def test_invalid_utf8_is_located() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(SourceFile("c.json", b'{\n"rules": ["\xff"]}'))
    assert [(p.code, p.line, p.col) for p in caught.value.problems] == [("encoding", 2, 12)]


def test_a_utf8_bom_is_accepted() -> None:
    doc = parse_config(SourceFile("c.json", b'\xef\xbb\xbf{"rules": []}'))
    assert isinstance(doc, ConfigDocument) and doc.rule_patterns == ()


def test_deeply_nested_conditions_are_an_error_not_a_traceback() -> None:
    when: dict[str, Any] = {"thinking": True}
    for _ in range(45):
        when = {"not": when}
    rendered = problems_of(rules={"routing": [{"id": "deep", "when": when, "route": "think"}]})
    assert len(rendered) == 1 and "too-deep" in rendered[0]


def test_a_rule_file_that_is_not_an_object_is_an_error() -> None:
    rendered = problems_of(rules=[{"id": "x"}])
    assert rendered == ["extra.json:1:1: wrong-type: expected an object, got an array (at $)"]


def test_rules_pass_the_validated_raw_dict_to_the_compiler() -> None:
    rules = {"routing": [{"id": "n", "when": {"tokens": {">=": "2k", "<": 5000}}, "route": "longContext"}]}
    snapshot = load(rules=rules)
    rule = snapshot.routing_rules[-1]
    assert (rule.id, rule.file, rule.json_path, rule.route) == ("n", "extra.json", "$.routing[0]", "longContext")


@pytest.mark.parametrize(
    ("server", "warned"),
    [
        ({"host": "0.0.0.0"}, True),
        ({"host": "example.internal"}, True),
        ({"host": "0.0.0.0", "auth_token": "${PROXY_TOKEN}"}, False),
        ({"host": "[::1]"}, False),
        ({"host": "127.0.0.2"}, False),
        ({"host": "localhost"}, False),
    ],
)
def test_a_non_loopback_host_without_a_client_key_is_flagged(server: dict[str, str], warned: bool) -> None:
    config = {**CONFIG, "server": server}
    snapshot = load(config)
    assert ("insecure-host" in [w.code for w in snapshot.warnings]) is warned


def test_a_list_of_keys_is_a_pool_whose_unset_keys_are_left_out() -> None:
    config = json.loads(json.dumps(CONFIG))
    config["providers"]["openai"]["api_key"] = ["${OPENAI_API_KEY}", "${SECOND_KEY}", "sk-literal-third"]
    snapshot = load(config)
    provider = snapshot.providers["openai"]
    keys = [(k.position, k.kind, k.env_name) for k in provider.keys]
    assert keys == [(1, "env", "OPENAI_API_KEY"), (3, "literal", None)]
    assert provider.api_key is provider.keys[0]
    unset = [w for w in snapshot.warnings if w.code == "unset-env"]
    assert (unset[0].severity, unset[0].json_path) == ("warning", "$.providers.openai.api_key[1]")
    assert "key 2 of provider 'openai' is left out of its pool" in unset[0].message
    assert SECRET not in repr(provider)


def test_forward_cannot_be_pooled_with_configured_keys() -> None:
    config = json.loads(json.dumps(CONFIG))
    config["providers"]["openai"]["api_key"] = ["${OPENAI_API_KEY}", "forward"]
    rendered = problems_of(config)
    assert any("forward-in-pool" in r and "$.providers.openai.api_key[1]" in r for r in rendered), rendered
    config["providers"]["openai"]["api_key"] = []
    assert any("$.providers.openai.api_key" in r for r in problems_of(config))
