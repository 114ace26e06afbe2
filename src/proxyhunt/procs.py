"""Helper processes that never outlive the scan that started them."""

from __future__ import annotations

import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent ends (Linux; elsewhere a no-op).

    A process stuck in native code (evtx-rs spinning with the GIL held) cannot act on any
    signal it could handle, so whatever ends the scan (Ctrl-C, kill, a crash) must end it
    from outside. ``parent`` is the scan's pid: if it is already gone, exit now. (The
    process may be the child of a fork server rather than of the scan; that server ends
    with the scan, and the signal follows.)
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent and not _alive(parent):
        os._exit(0)  # the scan ended before the call above: nothing would kill us later


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
