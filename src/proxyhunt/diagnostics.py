"""What a run saw and what it lost: counts per format, skipped records with reasons.

Every reader reports a record it could not use through :meth:`Diagnostics.skip`, which logs
one line naming the file and the place in it and counts the reason, so the summary can say
exactly what was lost and the exit status can say the run was partial.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

log = logging.getLogger("proxyhunt.sources")

# A run that logs thousands of identical warnings helps no one: after this many lines per
# file the rest are only counted.
WARNINGS_PER_FILE = 20


@dataclass
class Diagnostics:
    files: int = 0
    files_partial: set[str] = field(default_factory=set)
    files_unreadable: set[str] = field(default_factory=set)
    # Files found in a folder that are not telemetry (README, licence, FIFO): not a loss.
    files_ignored: dict[str, str] = field(default_factory=dict)
    events_by_format: Counter[str] = field(default_factory=Counter)
    skipped_by_reason: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    # False in a worker: its lines are logged by the parent when it merges the results, in
    # input order, once, with the parent's log format (not as the worker happens to run).
    echo: bool = True
    _per_file: Counter[str] = field(default_factory=Counter)
    _sources: list[str] = field(default_factory=list)  # the file of each line in warnings

    def read(self, fmt: str, n: int = 1) -> None:
        """Count ``n`` events read in format ``fmt``."""
        self.events_by_format[fmt] += n

    def skip(self, source: str, locator: str, reason: str, detail: str = "", n: int = 1) -> None:
        """Count ``n`` records lost at ``locator`` in ``source`` and warn once about them."""
        self.skipped_by_reason[reason] += n
        self.files_partial.add(source)
        suffix = f": {detail}" if detail else ""
        self._warn(source, f"{source}: {locator}: skipped ({reason}){suffix}")

    def unreadable(self, source: str, reason: str) -> None:
        """The whole file could not be read (unknown format, cannot open)."""
        self.files_unreadable.add(source)
        self.skipped_by_reason[reason] += 1
        self._warn(source, f"{source}: not read ({reason})")

    def ignore(self, source: str, reason: str) -> None:
        """A file met while walking a folder that is not telemetry; listed, not a loss."""
        self.files_ignored[source] = reason
        if self.echo:
            log.info("%s: ignored (%s)", source, reason)

    def _warn(self, source: str, line: str) -> None:
        self._per_file[source] += 1
        if self._per_file[source] <= WARNINGS_PER_FILE:
            self.warnings.append(line)
            self._sources.append(source)
            if self.echo:
                log.warning("%s", line)
        elif self._per_file[source] == WARNINGS_PER_FILE + 1 and self.echo:
            log.warning("%s: further warnings for this file are only counted", source)

    @property
    def skipped(self) -> int:
        return sum(self.skipped_by_reason.values())

    @property
    def partial(self) -> bool:
        return bool(self.files_partial or self.files_unreadable)

    def merge(self, other: Diagnostics) -> None:
        """Add another run's counts (a worker process) into this one."""
        self.files += other.files
        self.files_partial |= other.files_partial
        self.files_unreadable |= other.files_unreadable
        self.files_ignored.update(other.files_ignored)
        self.events_by_format.update(other.events_by_format)
        self.skipped_by_reason.update(other.skipped_by_reason)
        if other.echo:  # already logged where it happened
            self.warnings.extend(other.warnings)
            self._sources.extend(other._sources)
            return
        for source, reason in other.files_ignored.items():
            if self.echo:
                log.info("%s: ignored (%s)", source, reason)
        for source, line in zip(other._sources, other.warnings, strict=True):
            self._warn(source, line)
        for source, count in other._per_file.items():
            # Lines the worker only counted (over its own per-file cap).
            for _ in range(count - min(count, WARNINGS_PER_FILE)):
                self._per_file[source] += 1
                if self._per_file[source] == WARNINGS_PER_FILE + 1 and self.echo:
                    log.warning("%s: further warnings for this file are only counted", source)
