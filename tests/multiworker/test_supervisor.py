"""``guichet server --workers 2``: one supervising process, two workers on one port.

systemd's side is played by a notification socket this test owns (``NotifyAccess=main``:
only the supervising process may speak, which the kernel's sender credentials show).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.conftest import PATIENCE
from tests.conftest import wait_until as polled
from tests.multiworker.procs import REPO, ServerProcess, server_toml

WATCHDOG_USEC = 1_000_000  # WatchdogSec=1s: a ping every 0.5 s


def children(pid: int) -> set[int]:
    """The worker processes of ``pid`` (spawned interpreters)."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                out.add(int(child))
    return out


def workers_answering(url: str, tries: int = 400) -> set[str]:
    """Which workers answer new connections (the kernel gives each to one of them)."""
    seen: set[str] = set()
    for _ in range(tries):
        r = requests.get(f"{url}/healthz", timeout=10, headers={"Connection": "close"})
        assert r.status_code == 200
        seen.add(r.headers["X-Guichet-Worker"])
        if seen == {"1", "2"}:
            break
    return seen


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 2 * PATIENCE) -> None:
    if not polled(condition, timeout, step=0.1):
        raise AssertionError(f"still not {what} after {timeout:.0f} s")


@pytest.mark.postgres
def test_two_workers_under_one_supervisor_that_alone_speaks_to_systemd(
    pg_database: str, tmp_path: Path
) -> None:
    server = ServerProcess(tmp_path / "srv", pg_database, workers=2)
    try:
        server.start(watchdog_usec=WATCHDOG_USEC)
        ready = server.messages[-1]
        # READY comes from the supervisor, once the workers listen: the port answers at once.
        assert ready.pid == server.pid
        assert "with 2 workers" in ready.text
        assert requests.get(f"{server.url}/readyz", timeout=10).status_code == 200
        pings = [server.wait_for("WATCHDOG=1", PATIENCE) for _ in range(3)]
        assert {p.pid for p in pings} == {server.pid}
        assert {m.pid for m in server.messages} == {server.pid}
        workers = children(server.pid)
        assert len(workers) == 2 and server.pid not in workers
        assert workers_answering(server.url) == {"1", "2"}

        # A worker that dies is replaced; the service stays up and says nothing to systemd
        # but its pings.
        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(children(server.pid) - {victim}) == 2, "replaced")
        wait_until(lambda: workers_answering(server.url) == {"1", "2"}, "answering on both")
        assert server.wait_for("WATCHDOG=1", PATIENCE).pid == server.pid
        assert sum(m.text.startswith("READY=1") for m in server.messages) == 1
        replaced = children(server.pid)
    finally:
        code = server.stop()
    assert code == 0, server.log()
    assert not any(Path(f"/proc/{pid}").exists() for pid in replaced)
    assert [m.pid for m in server.messages if m.text == "STOPPING=1"] == [server.pid]


def test_two_workers_on_sqlite_are_refused_at_start(tmp_path: Path) -> None:
    config = server_toml(tmp_path, f"sqlite:///{tmp_path}/guichet.db", workers=2)
    done = subprocess.run(
        [sys.executable, "-m", "guichet", "server", "--config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "field 'workers'" in done.stderr and "need PostgreSQL" in done.stderr
    assert not (tmp_path / "guichet.db").exists()
