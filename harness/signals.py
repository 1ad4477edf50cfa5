"""Stopping the long-running commands (`crm-sla monitor`, `crm-sla board`) cleanly.

SIGTERM (what systemd, containers and `kill` send) stops them as Ctrl-C does: both become a
KeyboardInterrupt in the main thread, which the command catches to say "stopped" and exit 0. Both
are handled even when the command inherited SIGINT ignored, as a background job of a script
does (`crm-sla monitor &`): there `kill -INT` would otherwise do nothing at all.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum, _frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt inside the block (previous handlers restored
    after it)."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
