"""Backup and restore with PostgreSQL's own tools, as docs/deployment.md ("Backups") says: a
running site's database dumped with ``pg_dump``, restored with ``pg_restore`` into a fresh
database, a server started on the copy gives the same queue, statistics and passages."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from config.server import ServerSettings
from server.run import ServerThread
from tests.conftest import PATIENCE, fresh_postgres_database
from tests.server.helpers import MANAGER, SITE, Srv, site_config

pytestmark = pytest.mark.skipif(
    shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
    reason="pg_dump/pg_restore absent (Debian's postgresql-client)",
)

MORNING = [("1", "next"), ("1", "done"), ("1", "next"), ("2", "next"), ("2", "no-show")]
MORNING += [("2", "next")]
TABLES = ("events", "numbering", "leases", "devices", "users", "sites", "ticket_tokens")


def tool(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=4 * PATIENCE, check=False)
    assert done.returncode == 0, f"{args[0]}: {done.stderr}"


def views(srv: Srv) -> dict[str, Any]:
    """What a manager reads of the site: the queue, the day's statistics and passages."""
    queue = srv.request("GET", f"/api/v1/sites/{SITE}/queue", user=MANAGER)
    assert queue.status_code == 200, queue.text
    out = {"queue": queue.json()}
    day = out["queue"]["day"]  # the site's day, in its time zone
    for name, path in (
        ("stats", f"/api/v1/sites/{SITE}/stats?from={day}&to={day}"),
        ("passages", f"/api/v1/sites/{SITE}/passages?from={day}&to={day}"),
    ):
        r = srv.request("GET", path, user=MANAGER)
        assert r.status_code == 200, f"{name}: {r.text}"
        out[name] = r.json()
    return out


def rows(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t: sorted(map(tuple, conn.execute(sa.text(f"SELECT * FROM {t}"))), key=repr)
            for t in TABLES
        }


def test_a_running_sites_database_dumped_and_restored_serves_the_same_site(
    tmp_path: Path,
) -> None:
    """GIVEN a server on PostgreSQL with a morning's queue (tickets issued, called, served, one
    absent) WHEN its database is dumped with pg_dump while it runs and restored with
    pg_restore into a fresh database THEN a server started on the copy answers the same
    queue, statistics and passages at the same instant, holds the same rows, and numbers the
    next ticket after the last one."""
    with fresh_postgres_database() as source, fresh_postgres_database() as copy:
        settings = ServerSettings(database_url=source, secret_key="backup")
        with ServerThread(settings) as thread:
            tokens = thread.load_site(site_config(counters=2))
            thread.add_user(*MANAGER, "manager", [SITE])
            srv = Srv(thread, tokens)
            issued = [srv.issue("civil") for _ in range(4)] + [srv.issue("passports")]
            for counter, action in MORNING:
                srv.act(counter, action)
            now = thread.ctx.now()
            thread.ctx.wall = lambda: now  # both servers answer for the same instant
            before = views(srv)
            dump = tmp_path / "guichet.dump"
            tool("pg_dump", "--format=custom", f"--file={dump}", source)
            srv.http.close()
            source_rows = rows(thread.ctx.engine)
        tool(
            "pg_restore",
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            f"--dbname={copy}",
            str(dump),
        )
        with ServerThread(ServerSettings(database_url=copy, secret_key="backup")) as restored:
            restored.ctx.wall = lambda: now
            srv = Srv(restored, tokens)  # device tokens and users came back with the rows
            ready = srv.request("GET", "/readyz")
            assert ready.status_code == 200, ready.text
            assert views(srv) == before
            assert rows(restored.ctx.engine) == source_rows
            assert before["queue"]["waiting"] and before["stats"]
            restored.ctx.wall = time.time
            after = srv.issue("civil")
            last = max(t["ticket"]["number"] for t in issued if t["ticket"]["service"] == "civil")
            assert after["ticket"]["number"] == last + 1
            srv.http.close()
