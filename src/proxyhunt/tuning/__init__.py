"""Tuning: accept known, sanctioned activity without weakening the rules (allowlists)."""

from proxyhunt.tuning.allowlist import AllowEntry, Allowlist, load_allowlist

__all__ = ["AllowEntry", "Allowlist", "load_allowlist"]
