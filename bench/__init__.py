"""proxyhunt's benchmark: synthetic Falcon FDR and repeated real EVTX, against baselines.

Run ``python -m bench --help`` from the repository root.
"""
