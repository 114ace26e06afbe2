"""Readers: bytes in the formats exported in the field -> :class:`proxyhunt.model.Record`.

Each reader module registers itself in :data:`proxyhunt.sources.registry.READERS`; the
registry sniffs a file's first bytes to choose one (the extension is only a hint).
"""
