"""Reliability C8 under load: N connections trickling a request head at one byte a second.

Each connection sends a head that never ends, a byte a second, and reopens once the server closes it
(the total header deadline, `serve --header-timeout`, default 10 s). Run `loadgen.py run` beside it and
compare the legitimate p99 with a run without it (target: within 1.25x).

    taskset -c 0 /work/bench-venv/bin/python bench/slowloris.py 8100 200 25 &
    (cd /work/shared/bench && taskset -c 0 /work/bench-venv/bin/python loadgen.py run \\
        --url http://127.0.0.1:8100 --preset large --modes nonstream -c 1 -n 3000)

Arguments: port (127.0.0.1 only), connections, seconds. Prints how many connections ended.
"""

from __future__ import annotations

import asyncio
import sys
import time

HEAD = b"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-slow: " + b"a" * 500


async def trickle(port: int, until: float, ended: list[int]) -> None:
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for byte in HEAD:
                if time.monotonic() > until or reader.at_eof():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1.0)
            writer.close()
        except OSError:
            pass
        ended[0] += 1
        await asyncio.sleep(0.1)


async def main(port: int, connections: int, seconds: float) -> None:
    ended = [0]
    until = time.monotonic() + seconds
    await asyncio.gather(*(trickle(port, until, ended) for _ in range(connections)))
    print(f"slowloris: {connections} connections for {seconds:g} s, {ended[0]} ended (server close or end of run)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
