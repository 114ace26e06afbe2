"""One exception base for the library; the CLI maps each kind to an exit code."""

from __future__ import annotations


class ProxyhuntError(Exception):
    """Base of every error proxyhunt raises on purpose; its message is for a person."""

    exit_code = 2


class UsageError(ProxyhuntError):
    """The user asked for something that cannot be done (bad option, missing file)."""

    exit_code = 2


class RuleError(ProxyhuntError):
    """A rule file cannot be loaded or uses something the engine cannot evaluate."""

    exit_code = 3


class InputError(ProxyhuntError):
    """An input cannot be read at all (as opposed to a bad record, which is only skipped)."""

    exit_code = 6
