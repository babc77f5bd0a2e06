"""What the httpx API costs on the upstream leg: a benchmark aid, not a test.

Sends the `large` request (126 KB) to the harness's fake upstream, alternating two clients request by
request so the machine's noise hits both alike:
- cc-proxy's path: `server.upstream.open_response` (server/aiohttp_transport.py: aiohttp's answer
  wrapped in an httpx.Response), the body read with `body_chunks`, then `aclose`;
- aiohttp alone, on its own session: `session.post(...)`, `read()`.
Prints the median wall time of each and the difference.

    (cd /work/shared/bench && /work/bench-venv/bin/python fake_upstream.py --port 9100 &)
    taskset -c 1 .venv/bin/python bench/client_layer_bench.py [--upstream http://127.0.0.1:9100] [-n 6000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, "/work/shared/bench")

from cc_proxy.engine.profiles import BUILTIN_PROFILES
from cc_proxy.engine.snapshot import ApiKey, ResolvedProvider
from cc_proxy.engine.wire.types import UpstreamRequest
from cc_proxy.server.upstream import body_chunks, create_client, open_response

HEADERS = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
CREDENTIALS = {"x-api-key": "sk-bench-not-a-real-key"}


async def measure(upstream: str, body: bytes, n: int) -> tuple[float, float]:
    provider = ResolvedProvider("fake", "anthropic", upstream, ApiKey("none"), {}, BUILTIN_PROFILES["anthropic"])
    request = UpstreamRequest("/v1/messages", dict(HEADERS), body, False)
    client = create_client("aiohttp")
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), auto_decompress=False)
    url = upstream + "/v1/messages"
    ours: list[float] = []
    direct: list[float] = []
    try:
        for i in range(n):
            start = time.perf_counter()
            response = await open_response(client, provider, request, CREDENTIALS, connect_timeout=5)
            async for _chunk in body_chunks(response):
                pass
            await response.aclose()
            middle = time.perf_counter()
            async with session.post(url, data=body, headers={**HEADERS, **CREDENTIALS}) as plain:
                await plain.read()
            end = time.perf_counter()
            if i >= n // 10:  # warm-up left out
                ours.append(middle - start)
                direct.append(end - middle)
    finally:
        await session.close()
        await client.aclose()
    return statistics.median(ours) * 1e6, statistics.median(direct) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", default="http://127.0.0.1:9100")
    parser.add_argument("-n", type=int, default=6000)
    args = parser.parse_args()
    from workload import RequestBodies  # type: ignore[import-not-found]  # the harness: Claude-Code-sized requests

    body = RequestBodies("large", stream=False).next()
    uvloop.install()
    ours, direct = asyncio.run(measure(args.upstream, body, args.n))
    print(f"open_response + body_chunks + aclose  p50 {ours:7.1f} us")
    print(f"aiohttp session.post + read           p50 {direct:7.1f} us")
    print(f"httpx API layers                          {ours - direct:7.1f} us per request")


if __name__ == "__main__":
    main()
