"""A kiosk after a year in service against one after a day: touch to first printer byte,
start-up and resident memory.

Each kiosk runs in a process of its own (its memory is its own), standalone, with a number
lease for today, and is tapped with Kivy's test touches as in ``bench_kiosk_touch.py`` (whose
relay in front of the virtual printer timestamps the first byte). Its journal is written
beforehand with ``guichet.sim.history`` (every day: the counters opened, ``--tickets-per-day``
tickets over four services, each called and served, the day's leases):

- "1 day": yesterday only;
- "365 days, kept": a year, ``retention_days = 400``: nothing is pruned, so this is the cost of
  the history itself (also a kiosk's first start after an upgrade, before its first pruning);
- "365 days, pruned": a year in service with the default retention (35 days): the journal as
  its daily pruning leaves it (pruned here before the kiosk starts).

The time the first pruning of the year-old journal takes (a kiosk's first start after an
upgrade, on a thread of its own) is printed too.

For each: start-up (the runtime and the first screen), the first byte's median and p99 over
``--touches`` touches, and VmRSS after them; ``--rounds`` rounds, each in another order.
Target: the year within 10 % of the day.

    python bench/bench_kiosk_history.py [--touches 30] [--rounds 2] [--tickets-per-day 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_kiosk_touch import Relay, percentile, run  # noqa: E402

from config.kiosk import KioskSettings  # noqa: E402
from config.loader import load_model  # noqa: E402
from config.printer import NetworkTransport, PrinterSettings  # noqa: E402
from config.site import SiteConfig  # noqa: E402
from guichet.sim.history import fill_history  # noqa: E402
from printer.virtual import VirtualPrinter  # noqa: E402
from tickets.journal import Journal  # noqa: E402
from tickets.numbering import Lease  # noqa: E402

HOURS = "\n".join(
    f'{d} = ["00:00-24:00"]' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)
SITE = "\n".join(
    [
        '[site]\nid = "mairie"\nname = "Mairie de Saint-Exemple"\nlease_block = 50',
        *(
            f'[[services]]\nid = "{sid}"\nprefix = "{prefix}"\nnames = {{ fr = "{sid}" }}\n'
            f"mean_service_minutes = 0.01\n[services.hours]\n{HOURS}"
            for sid, prefix in (
                ("etat-civil", "A"),
                ("passeports", "B"),
                ("ccas", "C"),
                ("urba", "D"),
            )
        ),
        '[[counters]]\nid = "1"\nlabel = "Guichet 1"\nservices = ["etat-civil", "ccas"]',
        '[[counters]]\nid = "2"\nlabel = "Guichet 2"\nservices = ["passeports", "urba"]',
        '[[devices]]\nid = "kiosk-entree"\nrole = "kiosk"\noffline_range = [5000, 9999]',
        '[[devices]]\nid = "board"\nrole = "display"',
    ]
)
KIOSKS = (
    ("1 day", "day", 400),
    ("365 days, kept", "year", 400),
    ("365 days, pruned", "pruned", None),
)


def vm_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(args: argparse.Namespace) -> int:
    """One kiosk: start, wait for its pruning when it prunes, tap, measure; one JSON line."""
    from kiosk.main import prepare_kivy

    work = Path(args.work)
    relay = Relay(args.printer_port)
    values: dict[str, Any] = {
        "site": "mairie",
        "device_id": "kiosk-entree",
        "journal_path": Path(args.journal),
        "site_file": work / "site.toml",
        "fullscreen": False,
        "long_wait_minutes": 1440,
        # Generous timeouts: the machine is shared; a late status answer is not what is measured.
        "printer": PrinterSettings(
            transport=NetworkTransport(host="127.0.0.1", port=relay.port),
            timeout_seconds=10,
            status_timeout_seconds=5,
        ),
    }
    if args.retention:
        values["retention_days"] = args.retention
    settings = KioskSettings(**values)
    prepare_kivy(settings, work / f"kivy-{Path(args.journal).stem}")
    from kiosk.runtime import KioskRuntime
    from kiosk.selftest import KioskDriver

    t0 = time.perf_counter()
    runtime = KioskRuntime(settings)
    driver = KioskDriver(runtime, (1024, 600))
    start_up = time.perf_counter() - t0
    try:
        run(driver, relay, 5)  # warm-up: first connection, first renders
        firsts, _cuts = run(driver, relay, args.touches)
        rss = vm_rss_mb()
    finally:
        driver.close()
        runtime.close()
    print(json.dumps({"start_up": start_up, "firsts": firsts, "rss": rss}))
    return 0


def make_journal(path: Path, site: SiteConfig, days: int, per_day: int) -> int:
    domain = site.to_domain()
    with Journal(path, "mairie", "kiosk-entree", retention_days=400) as j:
        done = fill_history(j, domain, date.today(), days, tickets_per_day=per_day)
        today = date.today().isoformat()
        j.grant_leases([Lease(s.id, today, 1, 100_000) for s in domain.services])
    return done.events


def prune(path: Path, site: SiteConfig) -> float:
    """Prunes a journal with the default retention; returns the seconds it took."""
    with Journal(path, "mairie", "kiosk-entree") as j:
        j.state(site.to_domain())
        t = time.perf_counter()
        j.prune()
        return time.perf_counter() - t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--touches", type=int, default=30)
    p.add_argument("--tickets-per-day", type=int, default=200)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    p.add_argument("--journal", help=argparse.SUPPRESS)
    p.add_argument("--retention", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--printer-port", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp, VirtualPrinter(Path(tmp) / "printed") as printer:
        work = Path(tmp)
        (work / "site.toml").write_text(SITE, encoding="utf-8")
        site = load_model(SiteConfig, work / "site.toml")
        t = time.perf_counter()
        sizes = {
            1: make_journal(work / "day.sqlite3", site, 1, args.tickets_per_day),
            365: make_journal(work / "year.sqlite3", site, 365, args.tickets_per_day),
        }
        print(f"journals written in {time.perf_counter() - t:.0f} s: {sizes} events", flush=True)
        shutil.copy(work / "year.sqlite3", work / "pruned.sqlite3")
        took = prune(work / "pruned.sqlite3", site)
        print(f"first pruning of the year-old journal: {took:.1f} s", flush=True)
        for n in range(args.rounds):
            # Each round in another order: load from the other engineers' work hits all alike.
            for name, source_name, retention in KIOSKS[n % 3 :] + KIOSKS[: n % 3]:
                source = work / f"{source_name}.sqlite3"
                journal = work / f"{name.replace(' ', '-').replace(',', '')}-{n}.sqlite3"
                shutil.copy(source, journal)
                answer = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        f"--work={work}",
                        f"--journal={journal}",
                        f"--retention={retention or 0}",
                        f"--printer-port={printer.port}",
                        f"--touches={args.touches}",
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if answer.returncode != 0:
                    print(answer.stdout, answer.stderr, file=sys.stderr)
                    return 1
                one = json.loads(answer.stdout.strip().splitlines()[-1])
                print(
                    f"  {name} (round {n + 1}): start-up {one['start_up']:.2f} s, first byte "
                    f"median {statistics.median(one['firsts']):.1f} ms, RSS {one['rss']:.1f} MB",
                    flush=True,
                )
                got = results.setdefault(name, {"firsts": [], "start_up": [], "rss": []})
                got["firsts"] += one["firsts"]
                got["start_up"].append(one["start_up"])
                got["rss"].append(one["rss"])
                got["journal_mb"] = journal.stat().st_size / 1e6
                journal.unlink()
    med = {
        name: {k: statistics.median(v) for k, v in r.items() if k not in ("firsts", "journal_mb")}
        for name, r in results.items()
    }
    base = med["1 day"]
    base_p50 = statistics.median(results["1 day"]["firsts"])
    print(
        f"Kiosk after a day and after a year: {args.rounds} rounds of {args.touches} touches "
        f"(first byte over all touches; start-up and RSS: median of the rounds)"
    )
    print(f"  {'kiosk':<18} {'start-up':>9} {'first byte p50':>15} {'p99':>8} {'RSS':>9}")
    for name, r in results.items():
        m = med[name]
        p50, p99 = statistics.median(r["firsts"]), percentile(r["firsts"], 0.99)
        print(
            f"  {name:<18} {m['start_up']:8.2f}s {p50:12.1f} ms {p99:6.1f} ms"
            f" {m['rss']:7.1f} MB   journal {r['journal_mb']:.0f} MB"
        )
        if name != "1 day":
            print(
                f"  {'':<18} vs 1 day: start-up x{m['start_up'] / base['start_up']:.2f}, "
                f"first byte p50 x{p50 / base_p50:.2f}, RSS x{m['rss'] / base['rss']:.3f}"
            )
    print("  target: a year within 10 % of a day (first byte, RSS)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
