"""proxyhunt: hunt internal proxies (MITRE ATT&CK T1090.001) in endpoint telemetry."""

__version__ = "0.1.0"
