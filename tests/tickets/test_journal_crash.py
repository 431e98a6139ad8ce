"""A device killed mid-write (SIGKILL, as a power cut looks to SQLite) loses nothing it was
told was written, and leaves nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tickets.events import EventKind
from tickets.journal import Journal
from tickets.model import Counter, Device, Role, Service, Site

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-11-23"
SITE = Site(
    id="mairie",
    name="Mairie",
    services=(Service("a", "A", {"fr": "État civil"}),),
    counters=(Counter("1", "Guichet 1", ("a",)),),
    devices=(Device("kiosk", Role.KIOSK, (9000, 99999)),),
)

WRITER = f"""
import json, sys
from pathlib import Path
from tickets.events import EventKind
from tickets.journal import Journal
from tickets.numbering import Lease
from tickets.model import Device, Role, Service, Site

site = Site(id="mairie", name="Mairie", services=(Service("a", "A", {{"fr": "A"}}),),
            devices=(Device("kiosk", Role.KIOSK, (9000, 99999)),))
j = Journal(Path(sys.argv[1]), "mairie", "kiosk")
j.state(site)
if j.cursor == 0:
    j.grant_leases([Lease("a", "{DAY}", 1, 50)])
    j.set_cursor(1)
n = 0
while True:
    n += 1
    if n % 3:
        e, source = j.issue_ticket("a", "{DAY}", priority=None, lang="fr", prefix="A")
    else:
        e = j.record(EventKind.COUNTER_OPENED, counter="1")
    if n % 5 == 0:
        j.acknowledge([e.id])
    print(json.dumps({{"id": e.id, "acked": n % 5 == 0}}), flush=True)
"""


def _run_and_kill(path: Path, lines: int) -> list[dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    written: list[dict[str, object]] = []
    try:
        while len(written) < lines:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"writer stopped early (exit {proc.wait()})")
            written.append(json.loads(line))
        time.sleep(0.003 * (lines % 7))  # land the kill at varying points of a write
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return written


def test_sigkill_loses_nothing_written_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    told: list[dict[str, object]] = []
    for lines in (40, 60, 75):
        told += _run_and_kill(path, lines)

        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        db.close()

        j = Journal(path, "mairie", "kiosk")
        state = j.state(SITE)
        ids = {e.id for e in state.events}
        outbox = {e.id for e in j.outbox(limit=10_000)}
        # Every event the writer was told is written is there; acknowledged ones left the
        # outbox; the others wait in it.
        for entry in told:
            assert entry["id"] in ids
            assert (entry["id"] in outbox) is (not entry["acked"])
        # Nothing half-written: every event is either acknowledged or in the outbox exactly
        # once, and each issued ticket has its print state.
        issued = [e for e in state.events if e.kind is EventKind.TICKET_ISSUED]
        assert {e.data["ticket"] for e in issued} >= set(j.pending_prints())
        assert len(j.pending_prints()) == len(issued)
        numbers = [e.data["number"] for e in issued]
        assert len(numbers) == len(set(numbers))
        # The pool restarts after every number it gave, never below.
        e, _ = j.issue_ticket("a", DAY, priority=None, lang="fr", prefix="A")
        assert e.data["number"] not in numbers
        assert e.data["number"] == (9000 if max(numbers) == 50 else max(numbers) + 1)
        j.close()
