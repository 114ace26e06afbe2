"""Records -> events with Sigma field names: one module per record kind.

:func:`normalise` dispatches on ``record.kind``; each kind's module is imported on first use,
so a run over EVTX files never imports the Falcon or auditd code.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from proxyhunt.model import KIND_AUDITD, KIND_ECS, KIND_FALCON, KIND_WINDOWS, Event, Record

log = logging.getLogger(__name__)

Normaliser = Callable[[Record], Event | None]

# kind -> module with a ``normalise(record) -> Event | None`` function.
NORMALISERS: dict[str, str] = {
    KIND_WINDOWS: "proxyhunt.normalise.windows",
    KIND_FALCON: "proxyhunt.normalise.falcon",
    KIND_ECS: "proxyhunt.normalise.ecs",
    KIND_AUDITD: "proxyhunt.normalise.auditd",
}

_loaded: dict[str, Normaliser | None] = {}


def normalise(record: Record) -> Event | None:
    """The record as an :class:`Event`, or ``None`` when its kind has no normaliser."""
    function = _loaded.get(record.kind) if record.kind in _loaded else _load(record.kind)
    return function(record) if function is not None else None


def _load(kind: str) -> Normaliser | None:
    module_name = NORMALISERS.get(kind)
    function: Normaliser | None = None
    if module_name is None:
        log.warning("no normaliser for records of kind %r", kind)
    else:
        function = importlib.import_module(module_name).normalise
    _loaded[kind] = function
    return function
