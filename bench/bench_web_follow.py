"""An agent's NEXT in the web console to the citizen's "follow my ticket" page learning it.

From the moment the console's form post (NEXT at counter 3) leaves the agent's browser to the
moment the follow page's server-sent-event stream delivers the ticket card saying "go to
Guichet 3". Both clients are plain HTTP on loopback (no browser rendering); the server is the
real one (uvicorn in a thread, SQLite). Also: the console's panel refresh (one GET, what the
page does after each change) and the follow page's first load.

Target: the call reaches the phone within a fraction of a second (p50 <= 100 ms).

    python bench/bench_web_follow.py [--calls 100]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.server import ServerSettings  # noqa: E402
from server.ratelimit import Limit, TokenBuckets  # noqa: E402
from server.run import ServerThread  # noqa: E402

SITE_FILE = ROOT / "config" / "examples" / "site-townhall.toml"
AGENT = ("agent", "agent-password")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(
        f"{name:<34} n={len(ms):4d}  median {statistics.median(ms):7.1f} ms  "
        f"p99 {percentile(ms, 0.99):7.1f} ms"
    )


def sign_in(base: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    data = {"csrf_token": token.group(1), "username": AGENT[0], "password": AGENT[1]}
    http.post(f"{base}/login", data=data, timeout=10)
    page = http.get(f"{base}/console/mairie/3", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    return http, token.group(1)


def next_card(lines: object) -> dict[str, str]:
    """Reads SSE lines until a ``ticket`` message; returns its data."""
    event = ""
    for raw in lines:  # type: ignore[attr-defined]
        line = raw.decode() if isinstance(raw, bytes) else str(raw)
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "ticket":
            data: dict[str, str] = json.loads(line[6:])
            return data
    raise RuntimeError("stream ended")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = ServerSettings(database_url=f"sqlite:///{tmp}/guichet.db")
        server = ServerThread(settings)
        # One client asking for hundreds of public pages a minute is exactly what the rate
        # limit refuses; lift it for the measurement.
        server.app.state.ctx.limiters.public = TokenBuckets(Limit(burst=1e9, per_second=1e9))
        with server:
            tokens = server.load_site(SITE_FILE)
            server.add_user(*AGENT, "agent", ["mairie"])
            kiosk = {"Authorization": f"Bearer {tokens['kiosk-entree']}"}
            base = server.url
            console, csrf = sign_in(base)
            action = {"csrf_token": csrf, "action": "next"}
            push: list[float] = []
            first_load: list[float] = []
            panel: list[float] = []
            for _ in range(args.calls):
                r = requests.post(
                    f"{base}/api/v1/sites/mairie/tickets",
                    headers=kiosk,
                    json={"service": "passeports"},
                    timeout=10,
                )
                token = r.json()["token"]
                t0 = time.perf_counter()
                requests.get(f"{base}/t/{token}", timeout=10).raise_for_status()
                first_load.append(time.perf_counter() - t0)
                with requests.get(f"{base}/t/{token}/events", stream=True, timeout=10) as s:
                    lines = s.iter_lines()
                    assert next_card(lines)["status"] == "waiting"
                    t0 = time.perf_counter()
                    console.post(
                        f"{base}/console/mairie/3/action",
                        data=action,
                        allow_redirects=False,
                        timeout=10,
                    ).raise_for_status()
                    card = next_card(lines)
                    push.append(time.perf_counter() - t0)
                    assert card["status"] == "called" and "Guichet 3" in card["html"]
                t0 = time.perf_counter()
                console.get(f"{base}/console/mairie/3/panel", timeout=10).raise_for_status()
                panel.append(time.perf_counter() - t0)
    report("NEXT to follow page (SSE)", push)
    report("follow page, first load", first_load)
    report("console panel refresh", panel)


if __name__ == "__main__":
    main()
