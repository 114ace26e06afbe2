"""Command-line interface: arguments, exit codes and what a person sees; no detection logic."""
