"""The upstream side of the golden cases (tests/cases/responses/<case>/upstream_response.json and
upstream.sse), built with the `openai` SDK's response types by tests/fakes/openai_responses.py.

A case's answer is a `Response`; its stream is the event sequence the API sends for it, bent where the
case is about a fault (an error event, a cut, a broken event). Written by `python -m tests.responses.golden
--write`; tests/responses/test_golden.py checks the files still are exactly what these builders give.
"""

from __future__ import annotations

from collections.abc import Callable

from openai.types.responses import Response, ResponseFunctionToolCall, ResponseStreamEvent

from tests.fakes.openai_responses import (
    encode_events,
    event,
    failed_event,
    function_call,
    message,
    reasoning,
    response,
    stream_events,
    usage,
)

ENCRYPTED = "gAAAAABpZmFrZS1lbmNyeXB0ZWQtcmVhc29uaW5nLTAx"  # opaque to us: only OpenAI decrypts it


def _bash(call_id: str, command: str, item: str = "fc_01") -> ResponseFunctionToolCall:
    return function_call(item, call_id, "Bash", '{"command":"' + command + '","description":"Run it"}')


def _say_hi() -> Response:
    return response([message("msg_01", "Hi! How can I help you today?")], usage_=usage(4210, 12, cached=4096))


def _reasoning_tool() -> Response:
    plan = reasoning(
        "rs_01", ["**Checking the tree**\n\nList the files first.", "Then read the README."], encrypted=ENCRYPTED
    )
    return response(
        [plan, message("msg_01", "Listing the files."), _bash("call_Ab12", "ls -la")],
        usage_=usage(5120, 340, cached=4608, reasoning=256),
    )


def _parallel_calls() -> Response:
    return response(
        [
            reasoning("rs_01", [], encrypted=ENCRYPTED),
            function_call("fc_01", "call_read", "Read", '{"file_path":"/tmp/a.txt"}'),
            function_call("fc_02", "call_grep", "Grep", '{"pattern":"TODO","path":"/tmp","-n":true}'),
        ],
        usage_=usage(9000, 120, cached=8960, written=0, reasoning=64),
    )


def _max_output_tokens() -> Response:
    return response(
        [
            reasoning("rs_01", ["Long answer ahead."], encrypted=ENCRYPTED),
            message("msg_01", "The first part of a long"),
        ],
        status="incomplete",
        incomplete="max_output_tokens",
        usage_=usage(300, 64, reasoning=40),
    )


def _max_tokens_in_call() -> Response:
    return response(
        [function_call("fc_01", "call_w", "Write", '{"file_path":"/tmp/x","content":"unfinish')],
        status="incomplete",
        incomplete="max_output_tokens",
    )


def _content_filter() -> Response:
    return response(
        [message("msg_01", refusal="I can't help with that.")], status="incomplete", incomplete="content_filter"
    )


def _encrypted_only() -> Response:
    # A reasoning item with no summary but encrypted content still makes a (text-less) thinking block;
    # one with neither carries nothing and makes no block.
    return response([reasoning("rs_01", [], encrypted=ENCRYPTED), reasoning("rs_02", []), message("msg_01", "Done.")])


def _two_messages() -> Response:
    return response([message("msg_01", "First."), _bash("call_1", "true"), message("msg_02", "After the call.")])


def _events(answer: Response) -> list[ResponseStreamEvent]:
    return stream_events(answer, pieces=3)


def _failed_mid_stream() -> list[bytes]:
    events = _events(_say_hi())[:6]  # created, in_progress, item added, part added, two deltas
    events.append(failed_event("Rate limit reached for gpt-5-codex", "rate_limit_exceeded", sequence_number=6))
    return encode_events(events)


def _error_event() -> list[bytes]:
    events = _events(_reasoning_tool())[:5]
    events.append(
        event(
            {
                "type": "error",
                "sequence_number": 5,
                "code": "server_error",
                "message": "The server had an error.",
                "param": None,
            }
        )
    )
    return encode_events(events)


def _eof_before_completed() -> list[bytes]:
    return encode_events(_events(_say_hi())[:-1])  # every item done, but no response.completed


def _invalid_json() -> list[bytes]:
    chunks = encode_events(_events(_say_hi()))
    return [*chunks[:5], b"event: response.output_text.delta\ndata: {not json\n\n", *chunks[5:]]


def _done_events_only() -> list[bytes]:
    # A server that sends no deltas: only the item added/done events (and the terminal event).
    kinds = ("response.created", "response.output_item.added", "response.output_item.done", "response.completed")
    return encode_events([e for e in _events(_reasoning_tool()) if e.type in kinds])


def _no_usage() -> Response:
    answer = response([message("msg_01", "ok")])
    return answer.model_copy(update={"usage": None})


# case -> (answer for upstream_response.json and, unless a stream builder is given, upstream.sse)
ANSWERS: dict[str, Callable[[], Response]] = {
    "r01_say_hi_fixture": _say_hi,
    "r10_reasoning_tool_stream": _reasoning_tool,
    "r11_parallel_function_calls": _parallel_calls,
    "r12_incomplete_max_output_tokens": _max_output_tokens,
    "r12b_incomplete_inside_a_call": _max_tokens_in_call,
    "r13_content_filter_refusal": _content_filter,
    "r14_encrypted_reasoning_without_summary": _encrypted_only,
    "r15_messages_around_a_call": _two_messages,
    "r19_done_events_only": _reasoning_tool,
    "r20_no_usage": _no_usage,
}
STREAMS: dict[str, Callable[[], list[bytes]]] = {
    "r16_failed_mid_stream": _failed_mid_stream,
    "r17_error_event": _error_event,
    "r18_eof_before_completed": _eof_before_completed,
    "r18b_invalid_json_event": _invalid_json,
    "r19_done_events_only": _done_events_only,
}


def upstream_files(name: str) -> dict[str, bytes]:
    """The upstream files of case `name` (none when its answer is not built here)."""
    files: dict[str, bytes] = {}
    answer = ANSWERS.get(name)
    if answer is not None:
        built = answer()
        files["upstream_response.json"] = built.model_dump_json(indent=2, exclude_unset=True).encode() + b"\n"
        if name not in STREAMS:
            files["upstream.sse"] = b"".join(encode_events(_events(built)))
    stream = STREAMS.get(name)
    if stream is not None:
        files["upstream.sse"] = b"".join(stream())
    return files
