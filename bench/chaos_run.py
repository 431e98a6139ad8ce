"""The long chaos run: whole simulated days of a town hall with faults, checked afterwards.

Each run is ``guichet simulate`` on a full day (08:30-17:00 by default, the example town
hall's services and opening hours, five counters) with two kiosks and three boards as real
processes against the server on loopback, and through the day: processes killed with SIGKILL
and restarted, the server stopped twice, the LAN cut twice (once while the server is away),
a kiosk cut from the server only for half an hour, clocks a little wrong. After each day
every fault heals, the devices converge, and every promise is checked
(``guichet.sim.report``, FIFO order among them).

Prints, per run and in total: tickets, faults injected, checks made, violations (must be 0),
and the time to converge once every fault healed (median and p99: the worst of few runs).

    .venv/bin/python bench/chaos_run.py [--runs 3] [--speedup 120] [--seed 1]
        [--start 08:30] [--end 17:00] [--skew-seconds 20] [--output chaos-out]

``--skew-seconds 3600`` puts one kiosk an hour ahead: it corrects its clock by the server's and
the server corrects its events' times, so the statistics still match the record
(tests/chaos/test_clock.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from guichet.sim.config import SimConfig  # noqa: E402
from guichet.simulate import simulate, summary  # noqa: E402

CLOCK_BOOTS = {
    # During the first server outage: a kiosk boots 23 h ahead (its tickets are numbered for
    # tomorrow until the server answers), a board boots in 1970 (no saved time at all).
    "kiosk-2": [("09:45", 23 * 3600.0)],
    "board-3": [("09:50", -1.0e12)],
    # During the second: a kiosk boots in 1970.
    "kiosk-1": [("14:35", -1.0e12)],
}
"""``--clock-boots``: power cuts after which a device boots with a wrong clock, the server away
(seconds off the true time; -1e12 boots on 1 January 1970, 01:00, the earliest a clock reads)."""


def day(args: argparse.Namespace, seed: int, output: Path) -> SimConfig:
    return SimConfig.model_validate(
        {
            "simulation": {
                "site_file": ROOT / "config" / "examples" / "site-townhall.toml",
                "start": args.start,
                "end": args.end,
                "speedup": args.speedup,
                "seed": seed,
                "kiosks": 2,
                "boards": 3,
                "counters": 5,
                "output": output,
                "drain_minutes": 90,
            },
            "arrivals": {"etat-civil": 28, "passeports": 10, "ccas": 5},
            "service": {
                "distribution": "lognormal",
                "sigma": 0.5,
                "no_show": 0.05,
                "mean_minutes": {"etat-civil": 6, "passeports": 12, "ccas": 15},
            },
            "chaos": {
                "kills": args.kills,
                "restart_after_seconds": 120,
                "server_outages": [["09:40", "10:10"], ["14:30", "14:45"]],
                "lan_cuts": [["09:55", "10:20"], ["15:30", "15:50"]],
                "server_cuts": {"kiosk-1": [["11:00", "11:30"]]},
                "skew_seconds": {"kiosk-2": args.skew_seconds, "board-3": -15},
                "clock_boots": CLOCK_BOOTS if args.clock_boots else {},
            },
        }
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--speedup", type=float, default=120.0)
    ap.add_argument("--start", default="08:30")
    ap.add_argument("--end", default="17:00")
    ap.add_argument("--kills", type=int, default=12)
    ap.add_argument("--skew-seconds", type=float, default=20.0)
    ap.add_argument(
        "--clock-boots",
        action="store_true",
        help="devices boot with a wrong clock during the outages (CLOCK_BOOTS)",
    )
    ap.add_argument("--output", type=Path, default=Path("chaos-out"))
    args = ap.parse_args()
    totals: dict[str, Any] = {"tickets": 0, "checks": 0, "violations": 0}
    faults: dict[str, int] = {}
    converge: list[float] = []
    began = time.monotonic()
    for i in range(args.runs):
        seed = args.seed + i
        report = simulate(day(args, seed, args.output / f"run-{seed}"), quiet=True)
        f = report.figures
        print(f"== run {i + 1}/{args.runs} (seed {seed}, {f['real_seconds']} s)")
        print(summary(report))
        totals["tickets"] += f["tickets"]
        totals["checks"] += report.checks
        totals["violations"] += len(report.violations)
        for k, v in f["faults"].items():
            if isinstance(v, int):
                faults[k] = faults.get(k, 0) + v
        converge.append(f["converge_seconds"])
    print(
        f"== {args.runs} days of {args.start}-{args.end} at {args.speedup:g}x in "
        f"{time.monotonic() - began:.0f} s: {totals['tickets']} tickets, faults "
        + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in faults.items())
        + f", {totals['checks']} checks, {totals['violations']} violations"
    )
    print(
        f"converge after the last fault healed: median {statistics.median(converge):.2f} s, "
        f"p99 {max(converge):.2f} s"
    )
    return 0 if totals["violations"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
