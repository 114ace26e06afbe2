"""Enrichment: what a hit tells beyond its score, such as what is forwarded where."""

from proxyhunt.enrich.forwarding import Forward, forwarding

__all__ = ["Forward", "forwarding"]
