"""A process decides a site's waiting actions together (``server.batches``, ``server.actions``):
one lock and one commit for the batch, each action decided after the ones before it, each
answered as if it had been alone, a refused action left out without holding up the others."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import psycopg
import pytest
import requests
import sqlalchemy as sa

from server import actions
from server.auth import Principal
from server.batches import BATCH_LIMIT, Job, SiteBatches
from server.errors import ApiError
from tests.conftest import PATIENCE, wait_until
from tests.server.helpers import SITE, Srv


@contextlib.contextmanager
def site_locked(srv: Srv) -> Iterator[None]:
    """Holds the site's write lock from outside the server, as another process's action
    would: PostgreSQL's row lock, or SQLite's database write lock."""
    url = srv.engine.url
    if srv.engine.dialect.name == "sqlite":
        conn = sqlite3.connect(str(url.database), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as pg:
        pg.execute("SELECT 1 FROM sites WHERE id = %s FOR UPDATE", (SITE,))
        yield
        pg.rollback()


def commits_since(srv: Srv, seq: int) -> int:
    """How many transactions stored the site's events after ``seq``: the events of one
    transaction share their reception time (``received_at``), read once per transaction."""
    with srv.engine.connect() as conn:
        query = "SELECT count(DISTINCT received_at) FROM events WHERE site = :site AND seq > :seq"
        return int(conn.execute(sa.text(query), {"site": SITE, "seq": seq}).scalar_one())


def waiting(srv: Srv) -> int:
    """Actions of the site waiting in the server's process for the one being decided."""
    site = srv.thread.ctx.batches._sites.get(SITE)
    return 0 if site is None else len(site.pending)


def test_actions_waiting_for_the_site_are_decided_together_each_as_if_alone(
    any_srv: Srv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN six waiting tickets and the site's lock held elsewhere WHEN tickets, NEXTs, a
    press sent twice and a ticket with a priority the service does not offer all arrive
    while the first of them waits for the lock THEN the rest are decided in batches (one
    transaction for up to BATCH_LIMIT), the refused ticket alone is refused, the numbers
    follow on without a gap, every NEXT calls a different waiting ticket, the press twice
    is one decision, and the site's queue reads the same folded again from the table."""
    srv = any_srv
    for _ in range(3):
        srv.issue("civil")
        srv.issue("passports")
    press = {"press": str(uuid.uuid4()), "budget_seconds": 60}
    plan: list[tuple[str, str, dict[str, Any]]] = [
        ("tickets", "kiosk-a", {"service": "civil"}),
        ("counters/1/next", "board-a", {}),
        ("tickets", "kiosk-a", {"service": "passports", "priority": "pregnancy"}),  # refused
        ("tickets", "kiosk-a", {"service": "civil"}),
        ("counters/2/next", "board-a", press),
        ("counters/2/next", "board-a", press),
        ("tickets", "kiosk-a", {"service": "passports"}),
        ("counters/3/next", "board-a", {}),
        ("tickets", "kiosk-a", {"service": "civil", "priority": "pregnancy"}),
        ("counters/4/next", "board-a", {}),
        ("tickets", "kiosk-a", {"service": "passports"}),
    ]
    with srv.engine.connect() as conn:
        before = conn.execute(sa.text("SELECT max(seq) FROM events")).scalar_one()
    batches = srv.thread.ctx.batches
    sizes: list[int] = []
    run = batches.run

    def recorded(site: str, job: Any, decide: Any) -> Any:
        def deciding(site: str, jobs: Any) -> None:
            sizes.append(len(jobs))
            decide(site, jobs)

        return run(site, job, deciding)

    monkeypatch.setattr(batches, "run", recorded)

    def post(step: tuple[str, str, dict[str, Any]]) -> requests.Response:
        path, device, body = step
        return requests.post(
            f"{srv.url}/api/v1/sites/{SITE}/{path}",
            headers=srv.device(device),
            json=body or None,
            timeout=PATIENCE * 4,
        )

    with ThreadPoolExecutor(len(plan)) as pool:
        with site_locked(srv):
            answers = [pool.submit(post, step) for step in plan]
            # One action waits for the lock; the others wait in the process for it.
            assert wait_until(lambda: waiting(srv) == len(plan) - 1, PATIENCE), waiting(srv)
        got = [a.result() for a in answers]

    # The first alone, then the others in batches of at most BATCH_LIMIT, each committed
    # once (a batch's events share their reception time).
    rest = len(plan) - 1
    assert sizes == [1, BATCH_LIMIT, rest - BATCH_LIMIT], sizes
    assert commits_since(srv, before) <= len(sizes)
    refused = got[2]
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "priority"
    ok = [r.json() for i, r in enumerate(got) if i != 2]
    assert all(r.status_code == 200 for i, r in enumerate(got) if i != 2), [r.text for r in got]
    issued = [r.json()["ticket"] for i, r in enumerate(got) if plan[i][0] == "tickets" and i != 2]
    by_service: dict[str, list[int]] = {}
    for t in issued:
        by_service.setdefault(t["service"], []).append(t["number"])
    assert sorted(by_service["civil"]) == [4, 5, 6]
    assert sorted(by_service["passports"]) == [4, 5]
    called = [r.json()["ticket"]["id"] for i, r in enumerate(got) if "next" in plan[i][0]]
    # The press sent twice: one decision, the same answer twice.
    assert got[4].json()["events"] == got[5].json()["events"]
    assert called[1] == called[2]
    distinct = [called[0], called[1], called[3], called[4]]
    assert len(set(distinct)) == 4, called
    assert len(ok) == len(plan) - 1
    # Every event has its own seq, gapless, and the press made one call.
    with srv.engine.connect() as conn:
        seqs = [r.seq for r in conn.execute(sa.text("SELECT seq FROM events ORDER BY seq"))]
        presses = conn.execute(
            sa.text(
                "SELECT count(*) FROM events WHERE kind = 'TicketCalled'"
                " AND CAST(data AS TEXT) LIKE :p"
            ),
            {"p": f"%{press['press']}%"},
        ).scalar_one()
    assert seqs == list(range(1, len(seqs) + 1))
    assert presses == 1
    # The queue this process kept while deciding is the one the table folds to.
    kept = srv.request("GET", f"/api/v1/sites/{SITE}/queue", device="board-a").json()
    srv.thread.ctx.states.invalidate(SITE)
    folded = srv.request("GET", f"/api/v1/sites/{SITE}/queue", device="board-a").json()
    assert kept == folded


def test_a_batch_whose_commit_is_refused_refuses_only_the_action_at_fault(any_srv: Srv) -> None:
    """GIVEN a batch of three tickets, the second with a follow token another ticket holds
    (the commit of the batch is refused by the database) WHEN it is decided THEN the first
    and third are issued, numbered without a gap, and the second alone is refused (409)."""
    srv = any_srv
    taken = srv.issue("civil")["token"]
    ctx = srv.thread.ctx
    who = Principal(kind="device", name="kiosk-a", role="kiosk", sites=(SITE,))
    jobs = [
        actions._Action(who=who, service="civil", token=str(uuid.uuid4())),
        actions._Action(who=who, service="civil", token=taken),
        actions._Action(who=who, service="civil", token=str(uuid.uuid4())),
    ]
    actions._decide(ctx, SITE, jobs)
    assert all(j.done for j in jobs)
    first, second, third = jobs
    assert first.error is None and third.error is None, (first.error, third.error)
    assert isinstance(second.error, ApiError) and second.error.status == 409
    numbers = []
    for job in (first, third):
        (issue,) = job.answered
        numbers.append(issue.data["number"])
    assert numbers == [2, 3]


def test_jobs_arriving_while_a_batch_is_decided_make_the_next_batch() -> None:
    """GIVEN a batch being decided WHEN more jobs arrive THEN they wait, and the first of
    them to find the site free decides them together (at most the limit at a time), in
    their order of arrival; each thread returns once its own job is done."""
    batches: SiteBatches[Job] = SiteBatches(limit=3)
    first_started = threading.Event()
    release = threading.Event()
    decided: list[list[Job]] = []

    def decide(_site: str, jobs: Any) -> None:
        decided.append(list(jobs))
        if len(decided) == 1:
            first_started.set()
            release.wait(PATIENCE)
        for job in jobs:
            job.done = True

    first = Job()
    lead = threading.Thread(target=batches.run, args=("s", first, decide))
    lead.start()
    assert first_started.wait(PATIENCE)
    others = [Job() for _ in range(5)]
    threads = []
    for job in others:
        t = threading.Thread(target=batches.run, args=("s", job, decide))
        t.start()
        threads.append(t)
        assert wait_until(partial(pending, batches, len(threads)), PATIENCE)
    release.set()
    for t in [lead, *threads]:
        t.join(PATIENCE)
        assert not t.is_alive()
    assert decided == [[first], others[:3], others[3:]]
    assert all(j.done and j.error is None for j in [first, *others])


def pending(batches: SiteBatches[Job], count: int) -> bool:
    return len(batches._sites["s"].pending) == count


@pytest.mark.parametrize("raised", [RuntimeError("broken"), KeyboardInterrupt()])
def test_a_batch_that_fails_leaves_no_job_waiting(raised: BaseException) -> None:
    """GIVEN a decide that fails before marking its jobs WHEN it raises THEN every job of the
    batch is marked failed, and the next job is still decided."""
    batches: SiteBatches[Job] = SiteBatches()

    def broken(_site: str, _jobs: Any) -> None:
        raise raised

    job = Job()
    with pytest.raises(type(raised)):
        batches.run("s", job, broken)
    assert job.done and isinstance(job.error, RuntimeError)

    def fine(_site: str, jobs: Any) -> None:
        for j in jobs:
            j.done = True

    assert batches.run("s", Job(), fine).done
