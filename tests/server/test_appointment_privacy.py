"""Personal data of appointments over HTTP: an administrator exports and erases one person's
data; the retention purge blanks it after the appointment; agents may do neither."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server import schema
from server.appointments.privacy import purge
from tests.server.appointments import MONDAY, appointment_site, paris
from tests.server.conftest import start_server
from tests.server.helpers import SUPERADMIN, Srv

API = "/api/v1"
RDV_AGENT = ("rita", "rdv-agent-password")


@pytest.fixture
def rdv(tmp_path: Path) -> Iterator[Srv]:
    for srv in start_server(f"sqlite:///{tmp_path}/guichet.db"):
        srv.thread.load_site(appointment_site())
        srv.thread.add_user(*RDV_AGENT, "agent", ["rdv"])
        srv.thread.ctx.wall = lambda: paris(MONDAY, 8)
        yield srv


def book(srv: Srv, day: date, hour: int, **contact: Any) -> dict[str, Any]:
    r = srv.request(
        "POST",
        f"{API}/public/sites/rdv/appointments",
        json={"service": "passports", "start": int(paris(day, hour)), **contact},
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def contacts(srv: Srv) -> list[tuple[Any, ...]]:
    a = schema.appointments
    with srv.engine.connect() as conn:
        rows = conn.execute(
            sa.select(a.c.code, a.c.name, a.c.email, a.c.phone, a.c.status).order_by(a.c.starts_at)
        )
        return [tuple(r) for r in rows]


def test_an_administrator_exports_then_erases_one_persons_data(rdv: Srv) -> None:
    book(rdv, MONDAY, 10, name="Ada", email="Ada@Example.org")
    later = book(rdv, date(2026, 11, 30), 10, phone="06 12 34 56 78", email="ada@example.org")
    book(rdv, MONDAY, 11, name="Bob", email="bob@example.org")
    who = {"email": "ada@example.org"}
    r = rdv.request(
        "POST", f"{API}/sites/rdv/appointments/personal-data", user=SUPERADMIN, json=who
    )
    assert r.status_code == 200, r.text
    found = r.json()["appointments"]
    assert [a["email"] for a in found] == ["Ada@Example.org", "ada@example.org"]
    by_phone = rdv.request(
        "POST",
        f"{API}/sites/rdv/appointments/personal-data",
        user=SUPERADMIN,
        json={"phone": "+33612345678"},
    )
    assert [a["code"] for a in by_phone.json()["appointments"]] == [later["code"]]

    for path in ("personal-data", "personal-data/erase"):
        denied = rdv.request(
            "POST", f"{API}/sites/rdv/appointments/{path}", user=RDV_AGENT, json=who
        )
        assert denied.status_code == 403
    erased = rdv.request(
        "POST", f"{API}/sites/rdv/appointments/personal-data/erase", user=SUPERADMIN, json=who
    )
    assert erased.json()["erased"] == 2
    rows = contacts(rdv)
    assert [r[1:4] for r in rows] == [
        (None, None, None),
        ("Bob", "bob@example.org", None),
        (None, None, None),
    ]
    # Appointments still to come are cancelled: their places are free again.
    assert [r[4] for r in rows] == ["cancelled", "booked", "cancelled"]
    empty = rdv.request(
        "POST", f"{API}/sites/rdv/appointments/personal-data", user=SUPERADMIN, json={}
    )
    assert empty.status_code == 422


def test_the_retention_purge_blanks_contacts_of_past_appointments(rdv: Srv) -> None:
    book(rdv, MONDAY, 10, name="Ada", email="ada@example.org")
    book(rdv, date(2026, 12, 18), 10, name="Cy", phone="0612345678")
    assert purge(rdv.engine, paris(MONDAY, 12), 90) == 0
    assert purge(rdv.engine, paris(MONDAY, 12) + 91 * 86400, 90) == 1
    rows = contacts(rdv)
    assert rows[0][1:4] == (None, None, None)
    assert rows[1][1:4] == ("Cy", None, "0612345678")
