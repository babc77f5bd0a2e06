"""Ctrl-C and SIGTERM for a single-process `cc-proxy serve`.

The first signal stops the server gracefully, as Sanic does, but first says what the stop waits for:
the open requests (streams included), up to the grace period. A second Ctrl-C exits at once with one
line and no traceback: Sanic puts Python's default handler back once its loop stops, which would raise
KeyboardInterrupt in the middle of the shutdown, so `quiet_second_interrupt` replaces it then.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a process Ctrl-C ended


def handle_interrupts(app: Any, on_exit: Callable[[], None]) -> None:
    """Run in the server's loop once it listens; `on_exit` releases the port at a forced exit."""
    from cc_proxy.server.state import ServerState

    state: ServerState = app.ctx.state
    grace = app.config.GRACEFUL_SHUTDOWN_TIMEOUT
    loop = asyncio.get_running_loop()

    def first(signum: int) -> None:
        open_now = state.budget.in_flight
        if open_now:
            noun = "request" if open_now == 1 else "requests"
            again = "; Ctrl-C again to stop at once" if signum == signal.SIGINT else ""
            print(f"cc-proxy: stopping: waiting up to {grace:g} s for {open_now} open {noun} "
                  f"(streams included){again}", file=sys.stderr, flush=True)
        else:
            print("cc-proxy: stopping", file=sys.stderr, flush=True)
        app.ctx.on_stopping = lambda: quiet_second_interrupt(state, on_exit)
        app.stop(terminate=False)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, first, signum)


def quiet_second_interrupt(state: Any, on_exit: Callable[[], None]) -> None:
    """From the shutdown's first step on, Ctrl-C ends the process at once, saying what it cut."""

    def now(_signum: int, _frame: object) -> None:
        open_now = state.budget.in_flight
        cut = f" ({open_now} open request{'' if open_now == 1 else 's'} cut)" if open_now else ""
        os.write(2, f"cc-proxy: stopped at once{cut}\n".encode())
        on_exit()
        os._exit(EXIT_INTERRUPTED)

    signal.signal(signal.SIGINT, now)
