"""Command-line interface: argument parsing, exit codes and what a person sees; no detection logic."""
