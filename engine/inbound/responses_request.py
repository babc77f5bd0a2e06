"""OpenAI Responses request -> the engine's Anthropic Messages form.

`instructions` and system/developer messages become `system` blocks; `input` items in order become
turns: messages (input_text/output_text/refusal -> text, input_image -> image, input_file -> document),
`function_call` -> `tool_use` (a `namespace` joins the name as `ns__name`, as the tools are declared),
`function_call_output` -> `tool_result`, `custom_tool_call(_output)` likewise with `{"input": text}`,
`reasoning` items the proxy made -> the thinking block they carry (engine.inbound.reasoning_items).
Tools: `function`, `custom` (one string argument `input`) and the functions of a `namespace` map to
Anthropic tools; other kinds (`web_search`, `file_search`, `local_shell`, `mcp`...) have no equivalent
on an arbitrary target and are dropped visibly (`Normalised.dropped`: explain and the request log).

`previous_response_id` is refused: cc-proxy stores no responses (`store` is not emulated), so a client
must send the whole conversation in `input`, as Codex does (`store: false`).
"""

from __future__ import annotations

from typing import Any

from cc_proxy.engine.inbound.common import (
    DEFAULT_MAX_TOKENS,
    Normalised,
    ToolOrigin,
    dict_of,
    file_block,
    image_block,
    invalid,
    is_int,
    is_number,
    kind,
    parse_arguments,
    thinking_for_effort,
)
from cc_proxy.engine.inbound.reasoning_items import unseal

NAMESPACE_SEPARATOR = "__"
MAX_TOOL_NAME = 64  # Anthropic's limit
CUSTOM_INPUT_SCHEMA = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}
_READ = frozenset(
    {
        "model", "instructions", "input", "max_output_tokens", "temperature", "top_p", "stream", "tools",
        "tool_choice", "parallel_tool_calls", "text", "reasoning", "user", "safety_identifier",
        "previous_response_id", "store", "include",
    }
)  # fmt: skip


def normalise_responses(body: dict[str, Any]) -> Normalised:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid(f"expected a non-empty string, got {kind(model)}", "model")
    if body.get("previous_response_id") is not None:
        raise invalid(
            "cc-proxy stores no responses (store is not emulated): send the whole conversation in `input`"
            " instead of previous_response_id",
            "previous_response_id",
        )
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise invalid(f"expected a boolean, got {kind(stream)}", "stream")
    dropped = [key for key in body if key not in _READ]
    if body.get("store") is True:
        dropped.append("store")

    tools, origins = _tools(body.get("tools"), dropped)
    conversation = _Items(dropped)
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise invalid(f"expected a string, got {kind(instructions)}", "instructions")
        if instructions:
            conversation.system.append({"type": "text", "text": instructions})
    conversation.build(body.get("input"))

    out: dict[str, Any] = {"model": model}
    if conversation.system:
        out["system"] = conversation.system
    out["messages"] = conversation.turns
    max_tokens = body.get("max_output_tokens")
    if max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS
    elif not is_int(max_tokens) or max_tokens < 1:
        raise invalid(f"expected a positive integer, got {kind(max_tokens)}", "max_output_tokens")
    out["max_tokens"] = max_tokens
    for field in ("temperature", "top_p"):
        value = body.get(field)
        if value is None:
            continue
        if not is_number(value):
            raise invalid(f"expected a number, got {kind(value)}", field)
        out[field] = min(value, 1.0) if field == "temperature" else value
    if stream:
        out["stream"] = True
    if tools:
        out["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    output_format = _text_format(dict_of(body.get("text")).get("format"), dropped)
    if output_format is not None:
        out["output_config"] = {"format": output_format}
    thinking = thinking_for_effort(dict_of(body.get("reasoning")).get("effort"), max_tokens, "reasoning.effort")
    if thinking is not None:
        out["thinking"] = thinking
    user = body.get("safety_identifier") or body.get("user")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    return Normalised(out, stream is True, dropped=tuple(dropped), tools=origins)


def tool_name(name: str, namespace: str | None) -> str:
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}" if namespace else name


def _tools(tools: Any, dropped: list[str]) -> tuple[list[dict[str, Any]], dict[str, ToolOrigin]]:
    """Anthropic tools, and how the client declared each (for rendering its calls back)."""
    if tools is None:
        return [], {}
    if not isinstance(tools, list):
        raise invalid(f"expected an array, got {kind(tools)}", "tools")
    out: list[dict[str, Any]] = []
    origins: dict[str, ToolOrigin] = {}
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid(f"expected an object, got {kind(tool)}", f"tools[{i}]")
        kind_ = tool.get("type")
        if kind_ == "function":
            _function(tool, None, f"tools[{i}]", out, origins, dropped)
        elif kind_ == "namespace" and isinstance(tool.get("name"), str):
            for j, inner in enumerate(tool.get("tools") or ()):
                if isinstance(inner, dict) and inner.get("type") == "function":
                    _function(inner, tool["name"], f"tools[{i}].tools[{j}]", out, origins, dropped)
                else:
                    dropped.append(f"tools[{i}].tools[{j}] ({dict_of(inner).get('type')})")
        elif kind_ == "custom" and isinstance(tool.get("name"), str):
            converted = {"name": tool["name"], "input_schema": CUSTOM_INPUT_SCHEMA}
            if isinstance(tool.get("description"), str):
                converted["description"] = tool["description"]
            out.append(converted)
            origins[tool["name"]] = ToolOrigin(tool["name"], custom=True)
        else:
            dropped.append(f"tools[{i}] ({kind_})")
    return out, origins


def _function(
    tool: dict[str, Any],
    namespace: str | None,
    where: str,
    out: list[Any],
    origins: dict[str, ToolOrigin],
    dropped: list[str],
) -> None:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise invalid("expected a function tool with a string `name`", where)
    full = tool_name(name, namespace)
    if len(full) > MAX_TOOL_NAME:
        dropped.append(f"{where} ({full[:80]}: name longer than {MAX_TOOL_NAME})")
        return
    schema = tool.get("parameters")
    converted: dict[str, Any] = {
        "name": full,
        "input_schema": schema if isinstance(schema, dict) else {"type": "object", "properties": {}},
    }
    if isinstance(tool.get("description"), str):
        converted["description"] = tool["description"]
    out.append(converted)
    origins[full] = ToolOrigin(name, namespace)


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    out: dict[str, Any] | None
    if choice is None or choice == "auto":
        out = {"type": "auto"} if parallel is False else None
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif (
        isinstance(choice, dict)
        and choice.get("type") in ("function", "custom")
        and isinstance(choice.get("name"), str)
    ):
        out = {"type": "tool", "name": choice["name"]}
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        out = {"type": "any"} if choice.get("mode") == "required" else {"type": "auto"}
    else:
        raise invalid(f"expected auto, required, none or a named tool, got {choice!r}"[:200], "tool_choice")
    if out is not None and parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def _text_format(value: Any, dropped: list[str]) -> dict[str, Any] | None:
    if value is None:
        return None
    kind_ = dict_of(value).get("type")
    if kind_ == "json_schema":
        schema = dict_of(value).get("schema")
        if not isinstance(schema, dict):
            raise invalid("expected an object", "text.format.schema")
        return {"type": "json_schema", "schema": schema}
    if kind_ == "json_object":
        dropped.append("text.format (json_object)")
        return None
    if kind_ == "text":
        return None
    raise invalid(f"expected text, json_object or json_schema, got {kind_!r}", "text.format.type")


class _Items:
    def __init__(self, dropped: list[str]) -> None:
        self.dropped = dropped
        self.system: list[dict[str, Any]] = []
        self.turns: list[dict[str, Any]] = []

    def build(self, items: Any) -> None:
        if isinstance(items, str):
            self._append("user", [{"type": "text", "text": items}] if items else [])
            return
        if not isinstance(items, list):
            raise invalid(f"expected a string or an array of items, got {kind(items)}", "input")
        for i, item in enumerate(items):
            where = f"input[{i}]"
            if not isinstance(item, dict):
                raise invalid(f"expected an object, got {kind(item)}", where)
            item_type = item.get("type", "message")
            if item_type == "message":
                self._message(item, where)
            elif item_type in ("function_call", "custom_tool_call"):
                self._call(item, where)
            elif item_type in ("function_call_output", "custom_tool_call_output"):
                self._output(item, where)
            elif item_type == "reasoning":
                block = unseal(item.get("encrypted_content"))
                if block is None:  # another server's reasoning: nothing Anthropic can verify
                    self.dropped.append(f"{where} (reasoning not made by cc-proxy)")
                else:
                    self._append("assistant", [block])
            else:
                self.dropped.append(f"{where} ({item_type})")

    def _append(self, role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        last = self.turns[-1] if self.turns else None
        if last is not None and last["role"] == role:
            last["content"].extend(blocks)
        else:
            self.turns.append({"role": role, "content": blocks})

    def _message(self, item: dict[str, Any], where: str) -> None:
        role = item.get("role")
        blocks = self._content(item.get("content"), f"{where}.content")
        if role in ("system", "developer"):
            self.system.extend(b for b in blocks if b["type"] == "text")
        elif role in ("user", "assistant"):
            self._append(role, blocks)
        else:
            raise invalid(f"expected user, assistant, system or developer, got {role!r}"[:200], f"{where}.role")

    def _content(self, content: Any, where: str) -> list[dict[str, Any]]:
        if isinstance(content, str):
            return [{"type": "text", "text": content}] if content else []
        if not isinstance(content, list):
            raise invalid(f"expected a string or an array of content parts, got {kind(content)}", where)
        blocks: list[dict[str, Any]] = []
        for j, part in enumerate(content):
            at = f"{where}[{j}]"
            part_type = dict_of(part).get("type")
            if part_type in ("input_text", "output_text", "text", "refusal"):
                text = part.get("refusal" if part_type == "refusal" else "text")
                if not isinstance(text, str):
                    raise invalid(f"expected a string, got {kind(text)}", f"{at}.text")
                if text:
                    blocks.append({"type": "text", "text": text})
            elif part_type == "input_image":
                if isinstance(part.get("image_url"), str):
                    blocks.append(image_block(part["image_url"], f"{at}.image_url"))
                else:
                    self.dropped.append(f"{at} (input_image file_id)")
            elif part_type == "input_file":
                block = file_block(part, at)
                if block is None:
                    self.dropped.append(f"{at} (input_file file_id)")
                else:
                    blocks.append(block)
            else:
                if not isinstance(part_type, str):
                    raise invalid("expected a content part object with a string `type`", at)
                self.dropped.append(f"{at} ({part_type})")
        return blocks

    def _call(self, item: dict[str, Any], where: str) -> None:
        call_id, name = item.get("call_id"), item.get("name")
        if not isinstance(call_id, str) or not call_id or not isinstance(name, str) or not name:
            raise invalid("expected a call_id and a name", where)
        namespace = item.get("namespace")
        full = tool_name(name, namespace if isinstance(namespace, str) else None)
        if item.get("type") == "custom_tool_call":
            value = item.get("input")
            arguments: dict[str, Any] = {"input": value if isinstance(value, str) else ""}
        else:
            arguments = parse_arguments(item.get("arguments"))
        self._append("assistant", [{"type": "tool_use", "id": call_id, "name": full, "input": arguments}])

    def _output(self, item: dict[str, Any], where: str) -> None:
        call_id = item.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise invalid(f"expected a string, got {kind(call_id)}", f"{where}.call_id")
        output = item.get("output")
        content: str | list[dict[str, Any]]
        if isinstance(output, str):
            content = output
        else:
            content = [b for b in self._content(output, f"{where}.output") if b["type"] in ("text", "image")]
        self._append("user", [{"type": "tool_result", "tool_use_id": call_id, "content": content}])
