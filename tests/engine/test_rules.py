"""Compiling rules: what is accepted, and every compile error with its code and location."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cc_proxy.engine.match import AllOf, TokensCompare
from cc_proxy.engine.rewrite import ClampMaxTokens, DropPaths, FilterTools, MapPaths, SetPaths
from cc_proxy.engine.rules import (
    CompileError,
    compile_glob,
    compile_rewrite_rule,
    compile_routing_rule,
    glob_to_regex,
    parse_count,
)
from tests.conftest import REPO_ROOT


def routing(when: Any, **extra: Any) -> Any:
    return compile_routing_rule({"id": "r", "when": when, "route": "think", **extra}, "rules.json", "$.routing[0]")


def compile_error(fn: Any, *args: Any) -> CompileError:
    with pytest.raises(CompileError) as err:
        fn(*args)
    return err.value


def test_routing_rule_fields() -> None:
    rule = compile_routing_rule(
        {"id": "think", "description": "d", "when": {"thinking": True}, "route": "think"}, "f.json", "$.routing[3]"
    )
    assert (rule.id, rule.file, rule.json_path, rule.route, rule.model, rule.description) == (
        "think",
        "f.json",
        "$.routing[3]",
        "think",
        None,
        "d",
    )
    assert compile_routing_rule({"id": "m", "model": "opus"}, "f", "$").when == AllOf(())


def test_routing_rule_needs_exactly_one_action() -> None:
    err = compile_error(compile_routing_rule, {"id": "x", "route": "a", "model": "b"}, "f", "$.routing[1]")
    assert (err.code, err.json_path) == ("invalid-rule", "$.routing[1]")


def test_token_shorthands() -> None:
    rule = routing({"tokens": {">": "60k", "<=": "1M"}})
    assert rule.when == AllOf((TokensCompare(">", 60000), TokensCompare("<=", 1000000)))
    assert parse_count("32Ki", "$") == 32768
    assert parse_count("1.5k", "$") == 1500
    assert parse_count(200, "$") == 200
    assert compile_error(parse_count, "lots", "$.x").code == "invalid-value"
    assert compile_error(parse_count, True, "$.x").code == "invalid-value"


def test_jmespath_syntax_error_has_position_and_path() -> None:
    err = compile_error(routing, {"all": [{"jmespath": "messages[0"}]})
    assert err.code == "jmespath-syntax"
    assert err.json_path == "$.routing[0].when.all[0].jmespath"
    assert "position 10" in err.message


def test_jmespath_5000_deep_is_a_compile_error_not_a_crash() -> None:
    for expr in ("!" * 5000 + "a", "(" * 2500 + "a" + ")" * 2500, "!" * 3900 + "a"):
        err = compile_error(routing, {"jmespath": expr})
        assert err.code in ("jmespath-too-deep", "jmespath-too-long")
    assert compile_error(routing, {"jmespath": "!" * 3900 + "a"}).code == "jmespath-too-deep"


def test_conditions_nested_too_deep() -> None:
    when: dict[str, Any] = {"thinking": True}
    for _ in range(5000):
        when = {"not": when}
    err = compile_error(routing, when)
    assert err.code == "condition-too-deep"


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?P<x>a)(?P=x)", r"a(?=b)", "a(", "x" * 2000])
def test_regex_rejected(pattern: str) -> None:
    err = compile_error(routing, {"model": {"regex": pattern}})
    assert err.code in ("regex-invalid", "regex-too-long")
    assert err.json_path == "$.routing[0].when.model.regex"


def test_regex_is_linear_time_re2() -> None:
    rule = routing({"model": {"regex": "(a+)+$"}})  # catastrophic under backtracking engines
    from tests.engine.test_match import ctx_for

    assert not rule.when.matches(ctx_for({"model": "a" * 5000 + "!"}))


def test_header_regex_error_location() -> None:
    err = compile_error(routing, {"header": {"name": "x-h", "regex": "("}})
    assert err.json_path == "$.routing[0].when.header.regex"


def test_rewrite_only_conditions_rejected_in_routing() -> None:
    for key in ("route", "target", "provider", "format", "upstream_model"):
        err = compile_error(routing, {"any": [{key: "x"}]})
        assert err.code == "rewrite-only-condition"
        assert err.json_path == f"$.routing[0].when.any[0].{key}"


def test_unknown_condition() -> None:
    assert compile_error(routing, {"modle": "x"}).code == "unknown-condition"


def test_rewrite_actions_in_documented_order() -> None:
    rule = compile_rewrite_rule(
        {
            "id": "w",
            "tools": {"deny": ["Web*"]},
            "clamp": "max_tokens",
            "map": {"metadata.user_id": 'headers."x-user"'},
            "set": {"temperature": 1},
            "drop": ["top_k"],
        },
        "f",
        "$.rewrite[0]",
    )
    assert [type(a) for a in rule.actions] == [DropPaths, SetPaths, MapPaths, ClampMaxTokens, FilterTools]


@pytest.mark.parametrize(
    ("raw", "code", "json_path"),
    [
        ({"drop": ["a..b"]}, "path-invalid", "$.rewrite[0].drop[0]"),
        ({"set": {"a[x]": 1}}, "path-invalid", "$.rewrite[0].set['a[x]']"),
        ({"set": {"a": {"jmespath": "a["}}}, "jmespath-syntax", "$.rewrite[0].set.a.jmespath"),
        ({"map": {"a.b": "foo(("}}, "jmespath-syntax", "$.rewrite[0].map['a.b']"),
        ({"clamp": "temperature"}, "invalid-value", "$.rewrite[0].clamp"),
        ({"tools": {}}, "invalid-value", "$.rewrite[0].tools"),
        ({"tools": {"deny": ["[" + "x" * 2000]}}, "glob-too-long", "$.rewrite[0].tools.deny[0]"),
        ({"when": {"thinking": True}}, "invalid-rule", "$.rewrite[0]"),
    ],
)
def test_rewrite_compile_errors(raw: dict[str, Any], code: str, json_path: str) -> None:
    err = compile_error(compile_rewrite_rule, {"id": "x", **raw}, "f", "$.rewrite[0]")
    assert (err.code, err.json_path) == (code, json_path)
    problem = err.problem("rules.json")
    assert (problem.file, problem.code, problem.json_path) == ("rules.json", code, json_path)


def test_set_literal_escape_hatch() -> None:
    rule = compile_rewrite_rule({"id": "x", "set": {"a": {"literal": {"jmespath": "kept"}}}}, "f", "$")
    (action,) = rule.actions
    assert isinstance(action, SetPaths)
    assert action.items[0].literal == {"jmespath": "kept"}
    assert action.items[0].expr is None


@pytest.mark.parametrize(
    ("glob", "yes", "no"),
    [
        ("web_search*", ["web_search_20250305", "web_search"], ["xweb_search"]),
        ("Task?", ["TaskA"], ["Task", "TaskAB"]),
        ("[!W]*", ["Bash"], ["WebFetch"]),
        ("a.b+(c)", ["a.b+(c)"], ["aab+(c)", "a.bb(c)"]),
    ],
)
def test_globs(glob: str, yes: list[str], no: list[str]) -> None:
    import re

    regex = re.compile(glob_to_regex(glob), re.S)
    assert all(regex.fullmatch(s) for s in yes)
    assert not any(regex.fullmatch(s) for s in no)


@given(
    glob=st.text(alphabet="ab.*?[]!", max_size=8),
    subject=st.text(alphabet="ab.\n", max_size=10),
)
def test_glob_fast_paths_match_the_regex(glob: str, subject: str) -> None:
    """`x*`, `*x`, `*x*` and `*` skip the regex engine: they must accept exactly what the regex accepts."""
    import re2

    fast = compile_glob(glob, "$.g")
    options = re2.Options()
    options.dot_nl = True
    regex = re2.compile(glob_to_regex(glob), options)
    assert fast(subject) == (regex.fullmatch(subject) is not None)


def test_common_globs_do_not_load_re2() -> None:
    """A config whose globs are all prefix/suffix/contains shapes never imports RE2 (and libstdc++)."""
    code = (
        "import sys; from engine.rules import compile_glob;"
        "[compile_glob(g, '$') for g in ('web_search*', '*-haiku', '*sonnet*', '*', 'Bash')];"
        "print('re2' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert done.stdout.strip() == "False"
