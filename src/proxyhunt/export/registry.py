"""Export targets by name: an explicit registry that refuses a name twice.

Target modules are imported only when a target is asked for (or all are listed), so
``proxyhunt export --target splunk`` never imports PySpark helpers or pySigma backends it
does not need, and a broken optional backend only breaks its own target.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from proxyhunt.errors import UsageError
from proxyhunt.export.detection import Detection

# Target name -> module that registers it. Adding a target = one module + one line here.
BUILTIN_MODULES: dict[str, str] = {
    "logscale": "proxyhunt.export.logscale",
    "splunk": "proxyhunt.export.splunk",
    "splunk-cim": "proxyhunt.export.splunk",
    "sentinel": "proxyhunt.export.sentinel",
    "defender": "proxyhunt.export.defender",
    "elastic-eql": "proxyhunt.export.elastic_eql",
    "esql": "proxyhunt.export.esql",
    "spark-sql": "proxyhunt.export.spark_sql",
    "spark-sql-ecs": "proxyhunt.export.spark_sql",
    "sigma": "proxyhunt.export.sigma_pack",
}


@dataclass(frozen=True)
class Target:
    """One export format: ``render`` turns a detection into the text (or bytes) to write."""

    name: str
    summary: str
    render: Callable[[Detection], str | bytes]
    suffix: str  # default file suffix, e.g. ".cql"


_TARGETS: dict[str, Target] = {}


def register(target: Target) -> Target:
    """Add ``target``; a second target with the same name is a programming error."""
    if target.name in _TARGETS:
        raise ValueError(f"export target {target.name!r} is registered twice")
    _TARGETS[target.name] = target
    return target


def get(name: str) -> Target:
    """The target called ``name``, importing its module on first use."""
    if name not in _TARGETS:
        module = BUILTIN_MODULES.get(name)
        if module is None:
            known = ", ".join(sorted(BUILTIN_MODULES))
            raise UsageError(f"unknown export target {name!r}; choose one of: {known}")
        importlib.import_module(module)
    if name not in _TARGETS:
        raise ValueError(f"module {BUILTIN_MODULES[name]} did not register target {name!r}")
    return _TARGETS[name]


def names() -> list[str]:
    """Every known target name, sorted (without importing any target module)."""
    return sorted(BUILTIN_MODULES)
