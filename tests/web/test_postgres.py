"""The pages' own queries (site list, follow token, arrivals, devices) on PostgreSQL."""

from __future__ import annotations

import re

import pytest
import requests

from config.server import ServerSettings
from server.run import ServerThread
from tests.server.helpers import ADMIN, MANAGER, SITE, Srv, site_config
from tests.web.conftest import form_session
from tests.web.test_stats import PERIOD, seed

pytestmark = pytest.mark.postgres


def test_pages_on_postgresql(postgres_url: str) -> None:
    with ServerThread(ServerSettings(database_url=postgres_url)) as thread:
        srv = Srv(thread, thread.load_site(site_config(counters=2)))
        thread.add_user(*ADMIN, "admin", [SITE])
        thread.add_user(*MANAGER, "manager", [SITE])
        seed(srv)
        base = srv.url

        http, token = form_session(base, MANAGER)
        page = http.get(f"{base}/stats/{SITE}?{PERIOD}", timeout=10).text
        assert re.search(r"<td>État civil</td><td class=\"num\">5</td>", page)
        assert '<td class="heat-5">3</td>' in page  # Tuesday 9 h
        csv = http.get(f"{base}/stats/{SITE}/tickets.csv?{PERIOD}", timeout=10).text
        assert csv.count("\r\n") == 8  # header and seven tickets

        issued = srv.issue("civil", lang="en")
        follow = requests.get(f"{base}/t/{issued['token']}", timeout=10)
        assert follow.status_code == 200 and '<html lang="en" dir="ltr">' in follow.text
        assert "Test town hall" in requests.get(f"{base}/", timeout=10).text

        admin, token = form_session(base, ADMIN)
        r = admin.post(
            f"{base}/admin/{SITE}/devices",
            data={"csrf_token": token, "id": "kiosk-pg", "role": "kiosk"},
            timeout=10,
        )
        first = re.search(r'id="token-value">([^<]+)<', r.text)
        assert first
        r = admin.post(
            f"{base}/admin/{SITE}/devices/kiosk-pg/token", data={"csrf_token": token}, timeout=10
        )
        second = re.search(r'id="token-value">([^<]+)<', r.text)
        assert second and second.group(1) != first.group(1)
        sync = {"device": "kiosk-pg"}
        auth = {"Authorization": f"Bearer {first.group(1)}"}
        assert (
            requests.post(f"{base}/api/v1/sync", headers=auth, json=sync, timeout=10).status_code
            == 401
        )
        auth = {"Authorization": f"Bearer {second.group(1)}"}
        assert (
            requests.post(f"{base}/api/v1/sync", headers=auth, json=sync, timeout=10).status_code
            == 200
        )
        fleet = admin.get(f"{base}/admin/{SITE}/fleet", timeout=10).text
        assert 'data-device="kiosk-pg"' in fleet
