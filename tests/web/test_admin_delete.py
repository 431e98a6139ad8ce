"""Deleting a counter or a service from the administration, over real HTTP (no browser): the
site's configuration loses it, and a deletion that would leave a counter with nothing to do is
refused with the reason and changes nothing."""

from __future__ import annotations

import requests

from tests.server.helpers import ADMIN, SITE, Srv
from tests.web.conftest import csrf_of, form_session


def _admin_page(http: requests.Session, base: str) -> str:
    return http.get(f"{base}/admin/{SITE}", timeout=10).text


def _delete(http: requests.Session, base: str, what: str, token: str) -> requests.Response:
    return http.post(
        f"{base}/admin/{SITE}/{what}/delete",
        data={"csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )


def test_an_admin_deletes_a_counter(web: Srv) -> None:
    http, token = form_session(web.url, ADMIN)
    assert f'/admin/{SITE}/counters/4"' in _admin_page(http, web.url)
    r = _delete(http, web.url, "counters/4", token)
    assert (r.status_code, r.headers["location"]) == (303, f"/admin/{SITE}")
    page = _admin_page(http, web.url)
    assert f'/admin/{SITE}/counters/4"' not in page
    assert f'/admin/{SITE}/counters/3"' in page


def test_deleting_a_service_a_counter_still_needs_is_refused(web: Srv) -> None:
    http, token = form_session(web.url, ADMIN)
    # Counters 1 to 3 take both services: leave counter 1 with passports only.
    edit = http.get(f"{web.url}/admin/{SITE}/counters/1", timeout=10).text
    r = http.post(
        f"{web.url}/admin/{SITE}/counters/1",
        data={
            "csrf_token": csrf_of(edit),
            "label": "Guichet 1",
            "service": "passports",
            "rank_passports": "1",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303, r.text
    r = _delete(http, web.url, "services/passports", token)
    assert (r.status_code, r.headers["location"]) == (303, f"/admin/{SITE}/services/passports")
    refused = http.get(f"{web.url}{r.headers['location']}", timeout=10).text
    assert "Guichet 1 ne traite que ce service : donnez-lui d&#39;abord un autre" in refused
    assert f'/admin/{SITE}/services/passports"' in _admin_page(http, web.url)
