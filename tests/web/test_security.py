"""Who may open what, CSRF, sessions, rate limits and headers, over real HTTP (no browser)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from server.ratelimit import Limiters, RateLimits
from tests.server.helpers import ADMIN, AGENT, MANAGER, OTHER_AGENT, SITE, Srv
from tests.web.conftest import SECRET, csrf_of, form_session

STAFF_PAGES = [
    "/console",
    f"/console/{SITE}",
    f"/console/{SITE}/1",
    "/stats",
    f"/stats/{SITE}",
    f"/stats/{SITE}/tickets.csv",
    "/admin",
    f"/admin/{SITE}",
    f"/admin/{SITE}/services/civil",
    f"/admin/{SITE}/devices",
    f"/admin/{SITE}/fleet",
]
ACTIONS = [
    (f"/console/{SITE}/1/action", {"action": "next"}),
    (f"/admin/{SITE}/services", {"id": "x", "prefix": "X", "name_fr": "X"}),
    (f"/admin/{SITE}/services/civil/delete", {}),
    (f"/admin/{SITE}/counters/1", {"label": "Guichet 1", "service": "civil"}),
    (f"/admin/{SITE}/devices", {"id": "kiosk-z", "role": "kiosk"}),
    (f"/admin/{SITE}/devices/kiosk-a/token", {}),
    (f"/admin/{SITE}/devices/kiosk-a/revoke", {}),
]


def get(http: requests.Session, url: str) -> requests.Response:
    return http.get(url, allow_redirects=False, timeout=10)


def post(http: requests.Session, url: str, data: dict[str, Any]) -> requests.Response:
    return http.post(url, data=data, allow_redirects=False, timeout=10)


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_pages_without_a_session_redirect_to_login(web: Srv, path: str) -> None:
    r = get(requests.Session(), web.url + path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
    assert "reason=required" in r.headers["location"]


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_actions_without_a_session_are_refused_with_401(
    web: Srv, path: str, data: dict[str, str]
) -> None:
    http = requests.Session()
    token = csrf_of(http.get(f"{web.url}/login", timeout=10).text)
    r = post(http, web.url + path, {**data, "csrf_token": token})
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("user", "path"),
    [
        (AGENT, f"/admin/{SITE}"),
        (AGENT, f"/stats/{SITE}"),
        (MANAGER, f"/admin/{SITE}/devices"),
        (OTHER_AGENT, f"/console/{SITE}/1"),
    ],
)
def test_pages_for_another_role_or_site_redirect_to_login_with_a_reason(
    web: Srv, user: tuple[str, str], path: str
) -> None:
    http, _token = form_session(web.url, user)
    r = get(http, web.url + path)
    assert r.status_code == 303
    assert "reason=forbidden" in r.headers["location"]
    page = http.get(web.url + r.headers["location"], timeout=10)
    assert "pas accès à cette page" in page.text


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_actions_of_an_agent_outside_their_rights_are_refused_with_403(
    web: Srv, path: str, data: dict[str, str]
) -> None:
    user = OTHER_AGENT if path.startswith("/console") else AGENT
    http, token = form_session(web.url, user)
    r = post(http, web.url + path, {**data, "csrf_token": token})
    assert r.status_code == 403
    loaded = web.thread.ctx.sites.get_by_engine(web.engine, SITE)
    assert loaded is not None and {s.id for s in loaded.config.services} == {"civil", "passports"}


def test_a_post_without_the_csrf_token_is_refused(web: Srv) -> None:
    http, token = form_session(web.url, AGENT)
    url = f"{web.url}/console/{SITE}/2/action"
    before = web.count()
    assert post(http, url, {"action": "open"}).status_code == 403
    assert post(http, url, {"action": "open", "csrf_token": "forged"}).status_code == 403
    _other, other_token = form_session(web.url, AGENT)  # another browser's valid token
    assert post(http, url, {"action": "open", "csrf_token": other_token}).status_code == 403
    assert web.count() == before, "a refused post stored an event"
    r = post(http, url, {"action": "open", "csrf_token": token})
    assert (r.status_code, r.headers["location"]) == (303, f"/console/{SITE}/2")
    assert web.count() == before + 1
    http_admin, _ = form_session(web.url, ADMIN)
    r = post(http_admin, f"{web.url}/admin/{SITE}/services/civil/delete", {})
    assert r.status_code == 403
    # Sign-in and sign-out forms are protected too.
    fresh = requests.Session()
    fresh.get(f"{web.url}/login", timeout=10)
    data = {"username": AGENT[0], "password": AGENT[1]}
    assert post(fresh, f"{web.url}/login", data).status_code == 403
    assert post(http, f"{web.url}/logout", {}).status_code == 403
    assert get(http, f"{web.url}/console/{SITE}").status_code == 200  # still signed in


def test_session_cookie_is_httponly_lax_and_sign_out_ends_it(web: Srv) -> None:
    http, token = form_session(web.url, AGENT)
    cookie = next(c for c in http.cookies if c.name == "guichet_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite", "").lower() == "lax"
    r = post(http, f"{web.url}/logout", {"csrf_token": token})
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert get(http, f"{web.url}/console").status_code == 303


def test_an_idle_session_expires_on_the_server(web: Srv) -> None:
    """GIVEN a session cookie last signed longer ago than session_minutes (480 here)
    THEN the server refuses it, whatever the browser kept, and says why."""

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 481 * 60

    forge = URLSafeTimedSerializer(SECRET, salt="guichet.web.session", signer=Past)
    http = requests.Session()
    http.cookies.set("guichet_session", forge.dumps({"c": "x", "u": AGENT[0], "p": ""}))
    r = get(http, f"{web.url}/console/{SITE}")
    assert r.status_code == 303
    assert "reason=expired" in r.headers["location"]
    assert "a expiré" in http.get(web.url + r.headers["location"], timeout=10).text


def test_a_password_change_ends_the_users_sessions(web: Srv) -> None:
    web.thread.add_user("temp", "first-password", "agent", [SITE])
    http, _ = form_session(web.url, ("temp", "first-password"))
    assert get(http, f"{web.url}/console/{SITE}").status_code == 200
    web.thread.add_user("temp", "second-password", "agent", [SITE])
    assert get(http, f"{web.url}/console/{SITE}").status_code == 303


def test_sign_in_follows_only_local_paths(web: Srv) -> None:
    http = requests.Session()
    token = csrf_of(http.get(f"{web.url}/login", timeout=10).text)
    data = {"csrf_token": token, "username": AGENT[0], "password": AGENT[1]}
    r = post(http, f"{web.url}/login", {**data, "next": "//evil.example/x"})
    assert r.headers["location"] == "/console"


def test_pages_carry_security_headers_and_only_the_embed_may_be_framed(web: Srv) -> None:
    r = get(requests.Session(), f"{web.url}/login")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    r = get(requests.Session(), f"{web.url}/embed/{SITE}")
    assert r.status_code == 200
    assert "frame-ancestors *" in r.headers["content-security-policy"]
    assert "x-frame-options" not in r.headers
    assert "set-cookie" not in r.headers  # public, cacheable pages set no session


def test_failed_sign_ins_are_rate_limited_per_client(web: Srv) -> None:
    # a stopped clock: a slow machine's ten failures must not refill the budget meanwhile
    before = web.thread.ctx.limiters
    web.thread.ctx.limiters = Limiters.of(RateLimits(), clock=lambda: 0.0)
    try:
        failures_then_lock_out(web)
    finally:
        web.thread.ctx.limiters = before


def failures_then_lock_out(web: Srv) -> None:
    http = requests.Session()
    token = csrf_of(http.get(f"{web.url}/login", timeout=10).text)
    bad = {"csrf_token": token, "username": AGENT[0], "password": "wrong-password"}
    codes = [post(http, f"{web.url}/login", bad).status_code for _ in range(10)]
    assert codes == [401] * 10
    r = post(http, f"{web.url}/login", bad)
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    good = {**bad, "password": AGENT[1]}
    assert post(http, f"{web.url}/login", good).status_code == 429  # even the right one, for now
