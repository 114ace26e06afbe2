"""Outputs: the triage rows as a terminal table, CSV, JSON or JSON lines.

Every value in a row came from telemetry an attacker controls; ``outputs.safe`` neutralises it
for each medium, and ``outputs.atomic`` writes files so an interrupted run leaves none half done.
"""
