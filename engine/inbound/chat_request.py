"""OpenAI Chat Completions request -> the engine's Anthropic Messages form (protocols.md 4.10).

system/developer messages (anywhere) become top-level `system` blocks in order; consecutive `tool`
messages become one user turn of `tool_result` blocks, and a user message right after them joins that
turn after the results; tool calls become `tool_use` blocks (arguments parsed; unparsable ones kept as
`{"_raw_arguments": ...}` so nothing is lost). `max_completion_tokens`/`max_tokens` -> `max_tokens`
(DEFAULT_MAX_TOKENS when absent), `stop` -> `stop_sequences`, `tool_choice` and `parallel_tool_calls`
-> `tool_choice`, `response_format` json_schema -> `output_config.format`, `reasoning_effort` ->
`thinking` with a budget, `user` -> `metadata.user_id`. Fields with no Anthropic equivalent are listed
in `Normalised.dropped` (an OpenAI-format target still gets them: it receives the client's own request).
"""

from __future__ import annotations

from typing import Any

from cc_proxy.engine.inbound.common import (
    DEFAULT_MAX_TOKENS,
    Normalised,
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

# Read by the normaliser; everything else at the top level is reported as dropped.
_READ = frozenset(
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "stream",
        "stream_options", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort",
        "user", "n", "metadata",
    }
)  # fmt: skip


def normalise_chat(body: dict[str, Any]) -> Normalised:
    """The engine's request for `body`, or a 400 naming the first field it cannot work with."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid(f"expected a non-empty string, got {kind(model)}", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid(f"expected a non-empty array, got {kind(messages)}", "messages")
    n = body.get("n")
    if n is not None and n != 1:
        raise invalid("only n=1 is supported", "n")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise invalid(f"expected a boolean, got {kind(stream)}", "stream")
    dropped: list[str] = [key for key in body if key not in _READ]

    system, turns = _Conversation(dropped).build(messages)
    out: dict[str, Any] = {"model": model}
    if system:
        out["system"] = system
    out["messages"] = turns
    max_tokens = _max_tokens(body)
    out["max_tokens"] = max_tokens
    for field in ("temperature", "top_p"):
        value = body.get(field)
        if value is None:
            continue
        if not is_number(value):
            raise invalid(f"expected a number, got {kind(value)}", field)
        out[field] = min(value, 1.0) if field == "temperature" else value  # Anthropic's range is 0-1
    stops = _stops(body.get("stop"))
    if stops:
        out["stop_sequences"] = stops
    if stream:
        out["stream"] = True
    tools = _tools(body.get("tools"), dropped)
    if tools:
        out["tools"] = tools
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and (tools or choice["type"] == "none"):
        out["tool_choice"] = choice
    output_format = _response_format(body.get("response_format"), dropped)
    if output_format is not None:
        out["output_config"] = {"format": output_format}
    thinking = thinking_for_effort(body.get("reasoning_effort"), max_tokens, "reasoning_effort")
    if thinking is not None:
        out["thinking"] = thinking
    user = body.get("user")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    elif "metadata" in body:
        dropped.append("metadata")
    options = dict_of(body.get("stream_options"))
    return Normalised(out, stream is True, options.get("include_usage") is True, tuple(dropped))


def _max_tokens(body: dict[str, Any]) -> int:
    for field in ("max_completion_tokens", "max_tokens"):
        value = body.get(field)
        if value is None:
            continue
        if not is_int(value) or value < 1:
            raise invalid(f"expected a positive integer, got {kind(value)}", field)
        return int(value)
    return DEFAULT_MAX_TOKENS


def _stops(stop: Any) -> list[str]:
    if stop is None:
        return []
    values = [stop] if isinstance(stop, str) else stop
    if not isinstance(values, list) or not all(isinstance(s, str) for s in values):
        raise invalid("expected a string or an array of strings", "stop")
    return [s for s in values if s.strip()]  # Anthropic refuses whitespace-only sequences


def _tools(tools: Any, dropped: list[str]) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid(f"expected an array, got {kind(tools)}", "tools")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid(f"expected an object, got {kind(tool)}", f"tools[{i}]")
        if tool.get("type") != "function":
            dropped.append(f"tools[{i}] ({tool.get('type')})")
            continue
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise invalid("expected an object with a string `name`", f"tools[{i}].function")
        schema = function.get("parameters")
        converted: dict[str, Any] = {
            "name": function["name"],
            "input_schema": schema if isinstance(schema, dict) else {"type": "object", "properties": {}},
        }
        if isinstance(function.get("description"), str):
            converted["description"] = function["description"]
        out.append(converted)
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    out: dict[str, Any] | None
    if choice is None or choice == "auto":
        out = {"type": "auto"} if parallel is False else None
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        name = dict_of(choice.get("function")).get("name")
        if not isinstance(name, str):
            raise invalid("expected {type: function, function: {name}}", "tool_choice")
        out = {"type": "tool", "name": name}
    else:
        raise invalid(f"expected auto, required, none or a named function, got {choice!r}"[:200], "tool_choice")
    if out is not None and parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def _response_format(value: Any, dropped: list[str]) -> dict[str, Any] | None:
    if value is None:
        return None
    kind_ = dict_of(value).get("type")
    if kind_ == "json_schema":
        schema = dict_of(dict_of(value).get("json_schema")).get("schema")
        if not isinstance(schema, dict):
            raise invalid("expected an object", "response_format.json_schema.schema")
        return {"type": "json_schema", "schema": schema}
    if kind_ == "json_object":
        dropped.append("response_format (json_object)")
        return None
    if kind_ == "text":
        return None
    raise invalid(f"expected text, json_object or json_schema, got {kind_!r}", "response_format.type")


class _Conversation:
    """One pass over the messages; tool results gather into the user turn that follows a tool call."""

    def __init__(self, dropped: list[str]) -> None:
        self.dropped = dropped
        self.system: list[dict[str, Any]] = []
        self.turns: list[dict[str, Any]] = []
        self.legacy_ids: list[str] = []  # ids minted for legacy `function_call`s, answered in order

    def build(self, messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        # Hot for long conversations: the `param` paths of errors are only built when one is raised.
        turns = self.turns
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                raise invalid(f"expected an object, got {kind(message)}", f"messages[{i}]")
            role = message.get("role")
            if role == "user":
                content = message.get("content")
                if isinstance(content, str):
                    blocks = [{"type": "text", "text": content}] if content else []
                else:
                    blocks = self._user_content(content, i)
            elif role == "assistant":
                blocks = self._assistant(message, i)
            elif role in ("tool", "function"):
                role = "user"
                blocks = [self._tool_result(message, i)]
            elif role in ("system", "developer"):
                self.system.extend(_text_blocks(message.get("content"), i))
                continue
            else:
                raise invalid(
                    f"expected system, developer, user, assistant or tool, got {role!r}"[:200], f"messages[{i}].role"
                )
            if not blocks:
                continue
            # Consecutive turns of one role merge (as the Anthropic API merges them), so tool results and
            # the user text after them make one user turn.
            if turns and turns[-1]["role"] == role:
                turns[-1]["content"].extend(blocks)
            else:
                turns.append({"role": role, "content": blocks})
        return self.system, turns

    def _user_content(self, content: Any, i: int) -> list[dict[str, Any]]:
        if not isinstance(content, list):
            raise invalid(
                f"expected a string or an array of content parts, got {kind(content)}", f"messages[{i}].content"
            )
        blocks: list[dict[str, Any]] = []
        for j, part in enumerate(content):
            part_type = dict_of(part).get("type")
            if part_type == "text":
                text = part.get("text")
                if not isinstance(text, str):
                    raise invalid(f"expected a string, got {kind(text)}", f"messages[{i}].content[{j}].text")
                if text:
                    blocks.append({"type": "text", "text": text})
                continue
            at = f"messages[{i}].content[{j}]"
            if part_type == "image_url":
                blocks.append(image_block(dict_of(part.get("image_url")).get("url"), f"{at}.image_url.url"))
            elif part_type == "file":
                block = file_block(dict_of(part.get("file")), f"{at}.file")
                if block is None:
                    self.dropped.append(f"{at} (file_id)")
                else:
                    blocks.append(block)
            else:
                if not isinstance(part_type, str):
                    raise invalid("expected a content part object with a string `type`", at)
                self.dropped.append(f"{at} ({part_type})")
        return blocks

    def _assistant(self, message: dict[str, Any], i: int) -> list[dict[str, Any]]:
        content = message.get("content")
        blocks: list[dict[str, Any]]
        if isinstance(content, str):
            blocks = [{"type": "text", "text": content}] if content else []
        else:
            blocks = _text_blocks(content, i, refusal=True)
        calls = message.get("tool_calls")
        if calls is None:
            legacy = message.get("function_call")
            if not isinstance(legacy, dict):
                return blocks
            call_id = f"call_legacy_{len(self.legacy_ids)}"
            self.legacy_ids.append(call_id)
            calls = [{"id": call_id, "type": "function", "function": legacy}]
        if not isinstance(calls, list):
            raise invalid(f"expected an array, got {kind(calls)}", f"messages[{i}].tool_calls")
        for k, call in enumerate(calls):
            function = call.get("function") if isinstance(call, dict) else None
            given = call.get("id") if isinstance(call, dict) else None
            name = function.get("name") if isinstance(function, dict) else None
            if not isinstance(given, str) or not isinstance(name, str):
                raise invalid("expected an id and a function name", f"messages[{i}].tool_calls[{k}]")
            assert isinstance(function, dict)
            arguments = parse_arguments(function.get("arguments"))
            blocks.append({"type": "tool_use", "id": given, "name": name, "input": arguments})
        return blocks

    def _tool_result(self, message: dict[str, Any], i: int) -> dict[str, Any]:
        if message.get("role") == "function":  # legacy: answers the oldest unanswered function_call
            call_id: Any = self.legacy_ids.pop(0) if self.legacy_ids else f"call_legacy_{message.get('name')}"
        else:
            call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise invalid(f"expected a string, got {kind(call_id)}", f"messages[{i}].tool_call_id")
        content = message.get("content")
        if isinstance(content, str):
            return {"type": "tool_result", "tool_use_id": call_id, "content": content}
        return {"type": "tool_result", "tool_use_id": call_id, "content": _text_blocks(content, i)}


def _text_blocks(content: Any, i: int, *, refusal: bool = False) -> list[dict[str, Any]]:
    """String or text parts (and, for the assistant, refusal parts) as Anthropic text blocks; empty
    texts are left out (Anthropic refuses empty text blocks)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise invalid(f"expected a string or an array of text parts, got {kind(content)}", f"messages[{i}].content")
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        part = dict_of(part)
        key = "refusal" if refusal and part.get("type") == "refusal" else "text"
        text = part.get(key)
        if part.get("type") not in ("text", "refusal") or not isinstance(text, str):
            raise invalid("expected a text part {type: text, text}", f"messages[{i}].content[{j}]")
        if text:
            blocks.append({"type": "text", "text": text})
    return blocks
