"""The shipped Sigma rule packs and profiles, and the loader that reads them."""

from proxyhunt.rules.loader import list_profiles, load_profile, load_rules

__all__ = ["list_profiles", "load_profile", "load_rules"]
