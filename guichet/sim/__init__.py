"""The site simulator's parts: simulated time, the device processes it drives, link relays,
the scenario and its checks (``guichet simulate``, tests/chaos, bench/chaos_run.py)."""
