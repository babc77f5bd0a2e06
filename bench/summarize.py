"""One line per result file: added p50 / TTFT p50 and proxy CPU per request, per mode (c=1 cells).

    .venv/bin/python bench/summarize.py bench-results/*.jsonl
"""

from __future__ import annotations

import json
import sys


def summarize(path: str) -> str:
    cells = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("kind") != "compare" or record.get("concurrency") != 1:
                continue
            direct, proxy = record["direct"], record["proxy"]
            added = proxy["latency_ms"]["p50"] - direct["latency_ms"]["p50"]
            ttft = proxy["ttft_ms"]["p50"] - direct["ttft_ms"]["p50"]
            cpu = proxy.get("proc", {}).get("cpu_ms_per_req")
            cells.append(f"{record['mode']}: +{added:.2f} ms, ttft +{ttft:.2f}, cpu {cpu}")
    return f"{path.rsplit('/', 1)[-1]}: " + "; ".join(cells)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(summarize(name))
