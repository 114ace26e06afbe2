"""Parse EVTX in a process that may end itself: the pool processes of a parallel scan."""

from __future__ import annotations

import faulthandler
import os
import time
from collections.abc import Iterator
from typing import IO, Any, TypeVar

T = TypeVar("T")


class ExitWatchdog:
    """Parse in this process, which ends itself if the parser stops making progress.

    For a process whose loss costs nothing but a rerun (a pool process of a parallel scan):
    parsing here saves every record's trip through a pipe. While it is active, evtx-rs runs
    in-process; if no batch of records arrives for ``Limits.evtx_stall_seconds``, a C-level
    timer (``faulthandler``, which needs no GIL, so it fires while Rust holds it) ends the
    process, and the parent runs the file again through the guarded parser. The address
    space may grow by at most ``Limits.evtx_worker_memory`` meanwhile, so a size field that
    asks for gigabytes also ends this process rather than the machine's memory.
    """

    def __init__(self, limits: Any) -> None:
        self.stall = float(limits.evtx_stall_seconds)
        self.memory = int(limits.evtx_worker_memory)
        self._armed = 0.0
        self._devnull: IO[str] | None = None
        self._saved_limit: tuple[int, int] | None = None

    def __enter__(self) -> ExitWatchdog:
        global _watchdog
        if self.stall > 0:
            _watchdog = self
            self._devnull = open(os.devnull, "w")  # noqa: SIM115 - closed in __exit__
            self._arm()
            self._limit_memory()
        return self

    def __exit__(self, *exc: object) -> None:
        global _watchdog
        if _watchdog is self:
            _watchdog = None
            faulthandler.cancel_dump_traceback_later()
            self._restore_memory()
            if self._devnull is not None:
                self._devnull.close()

    def watch(self, frames: Iterator[T]) -> Iterator[T]:
        """``frames``, re-arming the timer as they come (at most 4 times a stall period)."""
        for frame in frames:
            if time.monotonic() - self._armed > self.stall / 4:
                self._arm()
            yield frame

    def _arm(self) -> None:
        # Re-arming starts a timer thread (~70 us): done rarely, not per batch.
        assert self._devnull is not None
        faulthandler.dump_traceback_later(self.stall, exit=True, file=self._devnull)
        self._armed = time.monotonic()

    def _limit_memory(self) -> None:
        if self.memory <= 0 or not os.path.exists("/proc/self/statm"):
            return
        import resource

        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = used + self.memory
        if soft == resource.RLIM_INFINITY or wanted < soft:
            if hard != resource.RLIM_INFINITY:
                wanted = min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
            self._saved_limit = (soft, hard)

    def _restore_memory(self) -> None:
        if self._saved_limit is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self._saved_limit)
            self._saved_limit = None


_watchdog: ExitWatchdog | None = None  # the one active in this process


def active() -> ExitWatchdog | None:
    """The watchdog this process parses under, if any."""
    return _watchdog
