"""Who may do what: 401 for missing or wrong credentials, 403 for another site or role."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from server.auth import hash_password, token_hash, verify_password
from tests.server.helpers import ADMIN, AGENT, MANAGER, OTHER_AGENT, SITE, Srv
from tests.web.conftest import csrf_of

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
        # an admin reaches every site, so an unknown one is a plain 404
        ("GET", "/api/v1/sites/elsewhere/queue", {"user": ADMIN}, 404),
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
def test_http_basic_shares_the_sign_in_lock_out(srv: Srv) -> None:
    """GIVEN one address WHEN it fails five sign-ins on the web form and five with HTTP Basic
    on the API THEN the API answers 429 with Retry-After, even to the right password, and so
    does the web form: one budget of failures per address, whichever way it guesses."""
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
    url = f"{srv.url}/api/v1/public/tickets/{'x' * 22}"
    codes: list[int] = []
    while 429 not in codes and len(codes) < 2000:
        codes.append(srv.http.get(url, timeout=30).status_code)
    assert set(codes[:120]) == {404}
    assert codes[-1] == 429
    r = srv.http.get(url, timeout=30)
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1
    assert srv.http.get(f"{srv.url}/t/{'x' * 22}", timeout=30).status_code == 429
