"""Who may do what: 401 for missing or wrong credentials, 403 for another site or role."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from server import migrations, schema
from server.auth import hash_password, token_hash, verify_password
from server.db import create_db_engine
from server.ratelimit import Limiters, RateLimits
from tests.server.helpers import (
    ADMIN,
    AGENT,
    MANAGER,
    OTHER_AGENT,
    SITE,
    SUPERADMIN,
    Srv,
    site_config,
)
from tests.web.conftest import csrf_of, form_session

Q = f"/api/v1/sites/{SITE}/queue"
NEXT = f"/api/v1/sites/{SITE}/counters/1/next"
ISSUE = f"/api/v1/sites/{SITE}/tickets"


@pytest.mark.parametrize(
    ("method", "path", "who", "status"),
    [
        # no or wrong credentials
        ("GET", Q, {}, 401),
        ("GET", Q, {"headers": {"Authorization": "Bearer not-a-token"}}, 401),
        ("GET", Q, {"headers": {"Authorization": "Basic !!!"}}, 401),
        ("GET", Q, {"headers": {"Authorization": "Basic " + base64.b64encode(b"x").decode()}}, 401),
        ("GET", Q, {"headers": {"Authorization": "Digest abc"}}, 401),
        ("GET", Q, {"user": (AGENT[0], "wrong password")}, 401),
        ("GET", Q, {"user": ("nobody", "whatever-pass")}, 401),
        ("POST", "/api/v1/sync", {"json": {"device": "kiosk-a"}}, 401),
        # right credentials, wrong site or role
        ("GET", Q, {"user": OTHER_AGENT}, 403),
        ("POST", NEXT, {"device": "kiosk-a"}, 403),
        ("POST", NEXT, {"user": OTHER_AGENT}, 403),
        ("POST", ISSUE, {"device": "board-a", "json": {"service": "civil"}}, 403),
        ("POST", "/api/v1/sync", {"user": ADMIN, "json": {"device": "kiosk-a"}}, 403),
        ("POST", "/api/v1/sync", {"device": "kiosk-a", "json": {"device": "kiosk-b"}}, 403),
        ("GET", "/api/v1/sites/elsewhere/queue", {"device": "board-a"}, 403),
        # allowed
        ("GET", Q, {"device": "kiosk-a"}, 200),
        ("GET", Q, {"device": "board-a"}, 200),
        ("GET", Q, {"user": AGENT}, 200),
        ("GET", Q, {"user": MANAGER}, 200),
        ("GET", Q, {"user": ADMIN}, 200),
        ("POST", NEXT, {"device": "board-a"}, 200),
        ("POST", NEXT, {"user": AGENT}, 200),
        ("POST", ISSUE, {"device": "kiosk-a", "json": {"service": "civil"}}, 200),
        ("POST", ISSUE, {"user": AGENT, "json": {"service": "civil"}}, 200),
        # an admin works for their sites; the superadmin for every site, so an unknown one is
        # a plain 404 for them
        ("GET", "/api/v1/sites/elsewhere/queue", {"user": ADMIN}, 403),
        ("GET", Q, {"user": SUPERADMIN}, 200),
        ("POST", NEXT, {"user": SUPERADMIN}, 200),
        ("GET", "/api/v1/sites/elsewhere/queue", {"user": SUPERADMIN}, 404),
    ],
)
def test_access(shared_srv: Srv, method: str, path: str, who: dict[str, Any], status: int) -> None:
    r = shared_srv.request(method, path, **who)
    assert r.status_code == status, r.text
    if status >= 400:
        body = r.json()
        assert body["code"] == {401: "unauthorized", 403: "forbidden", 404: "not_found"}[status]
        assert "waiting" not in body and "services" not in body  # never data
    if status == 401:
        assert "Bearer" in r.headers["WWW-Authenticate"]


def test_revoked_device_is_refused(srv: Srv) -> None:
    assert srv.request("GET", Q, device="board-b").status_code == 200
    cfg = srv.thread.app.state.ctx.sites.get_by_engine(srv.engine, SITE).config
    without_b = cfg.model_copy(update={"devices": [d for d in cfg.devices if d.id != "board-b"]})
    srv.thread.load_site(without_b)
    assert srv.request("GET", Q, device="board-b").status_code == 401
    # declared again: a new token, the old one stays invalid
    tokens = srv.thread.load_site(cfg)
    assert set(tokens) == {"board-b"}
    assert srv.request("GET", Q, device="board-b").status_code == 401
    srv.tokens["board-b"] = tokens["board-b"]
    assert srv.request("GET", Q, device="board-b").status_code == 200


def test_tokens_and_passwords_are_stored_hashed(srv: Srv) -> None:
    with srv.engine.connect() as conn:
        hashes = conn.execute(sa.text("SELECT token_hash FROM devices")).scalars().all()
        stored = conn.execute(
            sa.text("SELECT password_hash FROM users WHERE username = :u"), {"u": AGENT[0]}
        ).scalar_one()
    assert token_hash(srv.tokens["kiosk-a"]) in hashes
    assert srv.tokens["kiosk-a"] not in hashes
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, AGENT[1])
    assert not verify_password(stored, "something else")
    assert verify_password(hash_password("pässwörd-1"), "pässwörd-1")
    assert not verify_password("not a hash", "x")


# ---- guessing passwords and follow tokens ---------------------------------------------------
def frozen(srv: Srv) -> None:
    """The server's budgets on a stopped clock: nothing refills while a busy machine runs the
    test slowly, so the counts are exact."""
    srv.thread.ctx.limiters = Limiters.of(RateLimits(), clock=lambda: 0.0)


def test_http_basic_shares_the_sign_in_lock_out(srv: Srv) -> None:
    """GIVEN one address WHEN it fails five sign-ins on the web form and five with HTTP Basic
    on the API THEN the API answers 429 with Retry-After, even to the right password, and so
    does the web form: one budget of failures per address, whichever way it guesses."""
    frozen(srv)
    http = requests.Session()
    token = csrf_of(http.get(f"{srv.url}/login", timeout=30).text)
    bad = {"csrf_token": token, "username": AGENT[0], "password": "wrong-password"}
    for _ in range(5):
        r = http.post(f"{srv.url}/login", data=bad, allow_redirects=False, timeout=30)
        assert r.status_code == 401
    codes = [srv.request("GET", Q, user=(AGENT[0], f"guess-{n}")).status_code for n in range(5)]
    assert codes == [401] * 5
    r = srv.request("GET", Q, user=AGENT)
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1
    assert srv.request("GET", Q, user=(AGENT[0], "guess-again")).status_code == 429
    good = {**bad, "password": AGENT[1]}
    r = http.post(f"{srv.url}/login", data=good, allow_redirects=False, timeout=30)
    assert r.status_code == 429
    # devices are not users: their tokens are not guessed by the sign-in budget
    assert srv.request("GET", Q, device="kiosk-a").status_code == 200


def test_a_password_is_not_checked_where_only_devices_may_call(srv: Srv) -> None:
    """Sync takes only device tokens: a user's credentials there are refused (403) without
    being checked, so sync cannot serve to guess passwords outside the budget."""
    for password in [AGENT[1], *(f"guess-{n}" for n in range(12))]:
        r = srv.request("POST", "/api/v1/sync", user=(AGENT[0], password), json={"device": "x"})
        assert r.status_code == 403, r.text
    assert srv.request("GET", Q, user=AGENT).status_code == 200


def test_the_public_ticket_api_is_rate_limited_like_the_follow_page(srv: Srv) -> None:
    """GIVEN the public budget (120 at once, then 4 per second) WHEN one address asks the
    public ticket API without pause THEN it gets 429 with Retry-After, and the follow page
    /t/{token} is refused too: one budget for the public pages and API."""
    frozen(srv)
    url = f"{srv.url}/api/v1/public/tickets/{'x' * 22}"
    codes = [srv.http.get(url, timeout=30).status_code for _ in range(121)]
    assert codes == [404] * 120 + [429]
    r = srv.http.get(url, timeout=30)
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1
    assert srv.http.get(f"{srv.url}/t/{'x' * 22}", timeout=30).status_code == 429


# ---- administrators of one site, and of every site ------------------------------------------
ADMIN_B = ("admin-b", "admin-b-password")


def test_an_administrator_of_another_site_may_not_act_on_this_one(srv: Srv) -> None:
    """GIVEN admin-b, administrator of the prefecture only (``--role admin --site
    prefecture``) WHEN they act on the town hall's site through the API or the web pages
    THEN every action and page is refused, and the administration lists only their site."""
    srv.thread.add_user(*ADMIN_B, "admin", ["prefecture"])
    srv.thread.load_site(site_config("prefecture", counters=2))
    for method, path, body in [
        ("GET", Q, None),
        ("POST", NEXT, {}),
        ("POST", ISSUE, {"service": "civil"}),
        ("GET", f"/api/v1/sites/{SITE}/stats?from=2026-01-01&to=2026-01-02", None),
    ]:
        r = srv.request(method, path, user=ADMIN_B, json=body)
        assert r.status_code == 403, (path, r.text)
    assert srv.request("GET", "/api/v1/sites/prefecture/queue", user=ADMIN_B).status_code == 200
    http, csrf = form_session(srv.url, ADMIN_B)
    r = http.get(f"{srv.url}/admin/{SITE}", allow_redirects=False, timeout=30)
    assert r.status_code == 303 and "reason=forbidden" in r.headers["location"]
    form = {"csrf_token": csrf, "prefix": "Z", "name_fr": "Piège", "mean_service_minutes": "5"}
    r = http.post(f"{srv.url}/admin/{SITE}/services", data=form, allow_redirects=False, timeout=30)
    assert r.status_code == 403
    r = http.post(
        f"{srv.url}/admin/{SITE}/devices",
        data={"csrf_token": csrf, "id": "k9", "role": "kiosk"},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 403
    assert http.get(f"{srv.url}/admin", timeout=30).url.endswith("/admin/prefecture")
    home = http.get(f"{srv.url}/", timeout=30).text
    assert f'href="/admin/{SITE}"' not in home and 'href="/admin/prefecture"' in home
    # the superadmin reaches both
    http, _ = form_session(srv.url, SUPERADMIN)
    for site in (SITE, "prefecture"):
        assert http.get(f"{srv.url}/admin/{site}", timeout=30).status_code == 200


def test_roles_and_sites_must_agree(srv: Srv) -> None:
    with pytest.raises(ValueError, match="the administrator of every site is role superadmin"):
        srv.thread.add_user("no-site-admin", "a-password", "admin", [])
    with pytest.raises(ValueError, match="a superadmin works for every site: give no site"):
        srv.thread.add_user("site-superadmin", "a-password", "superadmin", [SITE])


def test_administrators_given_no_site_become_superadmins_on_upgrade(tmp_path: Path) -> None:
    """GIVEN a database from before per-site administrators, with an admin given no site (who
    acted on every site) and one given a site WHEN migrated THEN the first keeps every site
    as a superadmin and the second is the administrator of their site."""
    engine = create_db_engine(f"sqlite:///{tmp_path}/old.db")
    migrations.migrate(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM schema_version WHERE version >= 5"))
        for name, sites in (("old-admin", []), ("town-admin", [SITE])):
            conn.execute(
                sa.insert(schema.users).values(
                    username=name, password_hash="x", role="admin", sites=sites
                )
            )
    migrations.migrate(engine)
    with engine.connect() as conn:
        roles = dict(conn.execute(sa.select(schema.users.c.username, schema.users.c.role)).all())
    engine.dispose()
    assert roles == {"old-admin": "superadmin", "town-admin": "admin"}
