"""Issue 10, decompression bombs: a compressed upstream answer is decoded a bounded step at a time and
refused at the cap (32 MiB decoded, the answer cap), JSON answers and streams alike; codings the
proxy cannot decode are refused by name. Peak RSS (VmHWM) growth is printed for the record (`-s`)."""

from __future__ import annotations

import functools
import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Raw, Stream
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import OK, STREAM, Rel, reliability_config, reliability_rules, start_recorded
from tests.server.conftest import write_stack_files

GIB = 1 << 30
CHUNK = 64 * 1024  # the compressed bomb goes out in HTTP chunks of this size


@functools.cache
def bomb(encoding: str, decoded: int = GIB) -> bytes:
    """`decoded` zero bytes, compressed (~1 MB for 1 GiB): built once per session."""
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}[encoding]
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(decoded >> 20)]
    parts.append(packer.flush())
    return b"".join(parts)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture
def bomb_rel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rel]:
    """A proxy per test: VmHWM is the process's peak so far, so each figure starts from a fresh one."""
    base = tmp_path_factory.mktemp("bomb")
    with FakeUpstream() as fake:
        config_path = write_stack_files(base, reliability_config(fake.url, 9), reliability_rules())
        proxy = start_recorded(config_path, args=("--eject-after", "0", "--retry-stop-after", "0"))
        try:
            yield Rel(fake, proxy, config_path)
        finally:
            proxy.stop()


@pytest.fixture
def rel(bomb_rel: Rel) -> Rel:
    bomb_rel.reset()
    bomb_rel.fake.add("/v1/messages", A.auto(A.message(A.text("warm"))))
    assert bomb_rel.post("/v1/messages", OK).status_code == 200  # the peak so far includes the first request
    bomb_rel.reset()
    return bomb_rel


def _compressed(body: bytes, encoding: str) -> bytes:
    return gzip.compress(body) if encoding == "gzip" else zlib.compress(body)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("kind", ["json", "stream"])
def test_u20_a_1_gib_bomb_is_refused_at_the_cap_with_memory_bounded(rel: Rel, encoding: str, kind: str) -> None:
    data = bomb(encoding)
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    content_type = "application/json" if kind == "json" else "text/event-stream"
    rel.fake.always("/v1/messages", Stream(chunks, headers={"content-encoding": encoding}, content_type=content_type))
    before = _rss_kib(rel.proxy.proc.pid)
    response = rel.post("/v1/messages", OK if kind == "json" else STREAM, timeout=60)
    grown_mib = (_rss_kib(rel.proxy.proc.pid) - before) / 1024
    print(f"\nbomb {encoding} {kind}: 1 GiB decoded ({len(data)} bytes sent) -> {response.status_code}, "
          f"peak RSS +{grown_mib:.1f} MiB")
    assert response.status_code == 502, response.text[:300]
    assert "upstream" in response.json()["error"]["message"]
    assert len(rel.fake.requests) == 1  # not retried: the next answer would be the same
    assert grown_mib < 32 + 32, grown_mib


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress"])
def test_u20_a_coding_the_proxy_does_not_decode_is_refused_by_name(rel: Rel, encoding: str) -> None:
    rel.fake.always("/v1/messages", Raw(b"\x28\xb5\x2f\xfd-not-json", 200, {"content-encoding": encoding},
                                        "application/json"))
    response = rel.post("/v1/messages", OK)
    assert response.status_code == 502
    assert encoding in response.json()["error"]["message"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_u20_an_ordinary_compressed_answer_and_stream_still_work(rel: Rel, encoding: str) -> None:
    message = A.message(A.text("squeezed"))
    packed_json = _compressed(json.dumps(message).encode(), encoding)
    rel.fake.add("/v1/messages", Raw(packed_json, 200, {"content-encoding": encoding}, "application/json"))
    answer = rel.post("/v1/messages", OK)
    assert answer.status_code == 200, answer.text
    assert answer.json()["content"][0]["text"] == "squeezed"
    packed = _compressed(b"".join(A.message_stream(message)), encoding)
    pieces: list[bytes] = [packed[i : i + 7] for i in range(0, len(packed), 7)]  # cut anywhere
    rel.fake.add("/v1/messages", Stream(pieces, headers={"content-encoding": encoding}))
    streamed = rel.post("/v1/messages", STREAM)
    assert streamed.status_code == 200
    deltas = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert "".join(d["delta"].get("text", "") for d in deltas if d["type"] == "content_block_delta") == "squeezed"
    assert deltas[-1]["type"] == "message_stop"


def test_u20_a_count_tokens_answer_passed_through_is_capped_too(tmp_path: Path) -> None:
    data = bomb("gzip")
    with FakeUpstream() as fake:
        fake.always("/v1/messages/count_tokens", Stream([data[i : i + CHUNK] for i in range(0, len(data), CHUNK)],
                                                        headers={"content-encoding": "gzip"},
                                                        content_type="application/json"))
        config = reliability_config(fake.url, 9, count_tokens="upstream")
        proxy = start_recorded(write_stack_files(tmp_path, config, reliability_rules()))
        try:
            rel = Rel(fake, proxy, tmp_path / "cc-proxy.json")
            response = rel.post("/v1/messages/count_tokens", {"model": "claude-x", "messages": OK["messages"]})
            assert response.status_code == 502, response.text[:300]
            assert "count_tokens" in response.json()["error"]["message"]
        finally:
            proxy.stop()
