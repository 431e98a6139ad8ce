"""How every long-running Guichet process stops: on SIGINT (Ctrl-C), SIGTERM (systemd, kill)
and SIGHUP (the terminal closed), whatever dispositions it inherited.

A shell starts a script's background job (``cmd &``) with SIGINT ignored, and Python keeps an
inherited "ignore": without this, such a process would not stop on Ctrl-C. Processes that
start children of their own take them along (``die_with_parent``, and their own clean-up on
the way out).
"""

from __future__ import annotations

import ctypes
import signal
import sys
from collections.abc import Callable
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1

Handler = Callable[[int, FrameType | None], None]


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop_on_signals(handler: Handler | None = None) -> None:
    """Sets ``handler`` (default: raise ``KeyboardInterrupt`` in the main thread) for SIGINT,
    SIGTERM and SIGHUP. Call it from the main thread."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, handler or _interrupt)


def die_with_parent() -> None:
    """For ``subprocess.Popen(preexec_fn=...)``: the child gets SIGTERM when the process that
    started it dies, even by SIGKILL, so no child outlives its parent holding a port (Linux;
    elsewhere nothing is done). Also undoes an inherited "ignore" of the stop signals."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
