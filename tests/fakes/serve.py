"""Run a fake upstream as a process: `python -m tests.fakes.serve --port 0 --script script.json`.

The first stdout line is the URL. Runs until SIGTERM/SIGINT or until stdin closes (`--stdin-lifeline`),
so a parent test that dies does not leave it behind.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from tests.fakes.server import FakeUpstream


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.serve", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--script", help="JSON script file (see tests/fakes/script.py)")
    parser.add_argument("--stdin-lifeline", action="store_true", help="exit when stdin reaches EOF")
    args = parser.parse_args(argv)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    upstream = FakeUpstream(args.port)
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            upstream.load_script(json.load(f))
    with upstream:
        print(upstream.url, flush=True)
        if args.stdin_lifeline:

            def lifeline() -> None:
                sys.stdin.read()
                done.set()

            threading.Thread(target=lifeline, daemon=True).start()
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
