"""Assembled Linux audit execve events (``KIND_AUDITD``) -> process_creation events.

``CommandLine`` is argv joined with single spaces and no quoting, as Sysmon for Linux, Falcon
and auoms show it, so ``bash -c "ssh -R ..."`` reads ``bash -c ssh -R ...`` and a rule sees
the inner command's flags. auoms records carry the command line auoms already joined
(``cmdline``); it is used as is. The argument list itself stays in the record (``argv``).

``Image`` is the kernel's ``exe``. When it is missing (an EXECVE record without its SYSCALL)
or is ``/`` (seen in exports that lost the path), ``argv[0]`` stands in for it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from proxyhunt.model import PROCESS_CREATION, Event, Record

log = logging.getLogger(__name__)


def join_argv(argv: list[str]) -> str:
    """argv joined with single spaces, unquoted.

    Sysmon for Linux, Falcon and auoms all show a Linux command line this way, so one rule
    written against ``CommandLine`` matches the same process whichever sensor saw it.
    """
    return " ".join(argv)


def _image(data: dict[str, Any]) -> str | None:
    exe = data.get("exe")
    argv = data.get("argv") or []
    if (not exe or exe == "/") and argv:
        return str(argv[0])
    return exe


def _command_line(data: dict[str, Any]) -> str | None:
    cmdline = data.get("cmdline")
    if isinstance(cmdline, str):
        return cmdline
    argv = data.get("argv")
    return join_argv([str(a) for a in argv]) if argv else None


def _user(data: dict[str, Any]) -> str | None:
    user = data.get("user")
    if user:
        return str(user)
    uid = data.get("uid")
    return None if uid is None else str(uid)


def _time(data: dict[str, Any]) -> datetime | None:
    when = data.get("time")
    if not isinstance(when, int | float):
        return None
    try:
        return datetime.fromtimestamp(when, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _fields(data: dict[str, Any]) -> dict[str, str | None]:
    """Sigma fields; a value the event does not have is left out, not set to None."""
    candidates = {
        "Image": _image(data),
        "CommandLine": _command_line(data),
        "ProcessId": data.get("pid"),
        "ParentProcessId": data.get("ppid"),
        "User": _user(data),
        "CurrentDirectory": data.get("cwd"),
        "Computer": data.get("node"),
        # The audit rule's key (auditctl -k): Sigma's auditd rules select on it.
        "key": data.get("key"),
    }
    return {name: str(value) for name, value in candidates.items() if value is not None}


def normalise(record: Record) -> Event | None:
    """One execve event as ``process_creation``; None for a failed execve.

    A failed execve started no process, and its SYSCALL ``exe`` and PROCTITLE describe the
    caller, so reporting it as a process creation would name the wrong program.
    """
    data = record.data
    if data.get("success") is False:
        log.debug("%s: %s: failed execve not normalised", record.source, record.locator)
        return None
    fields = _fields(data)
    columns = {
        "ComputerName": fields.get("Computer") or "",
        "UserName": fields.get("User") or "",
        "ImageFileName": fields.get("Image") or "",
        "ParentBaseFileName": "",
        "TargetProcessId": fields.get("ProcessId") or "",
        "ContextProcessId": fields.get("ParentProcessId") or "",
    }
    return Event(
        fields=fields,
        time=_time(data),
        category=PROCESS_CREATION,
        product="linux",
        service="auditd",
        event_id=str(data.get("record_type") or "EXECVE"),
        source=record.source,
        locator=record.locator,
        fmt=record.fmt,
        columns=columns,
    )
