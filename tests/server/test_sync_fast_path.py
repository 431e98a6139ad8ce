"""Syncs answered before routing (``server.api.sync.SyncFastPath``) are answered exactly as the
route answers them: the route still takes every body of another content type
(``application/vnd.guichet+json`` is JSON for it, not for the fast path)."""

from __future__ import annotations

import json
from typing import Any

import requests

from tests.server.helpers import DeviceClock, Srv, wire

FAST = "application/json"
ROUTE = "application/vnd.guichet+json"


def post(srv: Srv, content_type: str, body: Any, token: str | None) -> requests.Response:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return srv.http.post(f"{srv.url}/api/v1/sync", data=json.dumps(body), headers=headers)


def comparable(r: requests.Response) -> tuple[int, dict[str, str], Any]:
    body = r.json()
    if isinstance(body, dict):
        body.pop("server_time", None)
        body.pop("server_hlc", None)
    varying = ("date", "content-length")
    headers = {k.lower(): v for k, v in r.headers.items() if k.lower() not in varying}
    return r.status_code, headers, body


def test_the_fast_path_and_the_route_give_the_same_answers(srv: Srv) -> None:
    """GIVEN a site with events, WHEN the same syncs go once each way (pulls, uploads again,
    refusals: wrong token, another device's name, a foreign event, a conflict), THEN status,
    headers and body are the same (but for the server's clock)."""
    kiosk = DeviceClock("kiosk-a")
    batch = wire([kiosk.issued(n) for n in (901, 902)])
    assert srv.sync("kiosk-a", events=batch).status_code == 200
    other = DeviceClock("kiosk-a", site="elsewhere").issued(903).to_dict()
    changed = dict(batch[0], wall_time=batch[0]["wall_time"] + 1)
    cases: list[tuple[str, dict[str, Any], str | None]] = [
        ("board-a", {"device": "board-a", "cursor": 0, "limit": 1}, None),
        ("board-a", {"device": "board-a", "cursor": 2, "config_version": "old"}, None),
        ("kiosk-a", {"device": "kiosk-a", "cursor": 2, "events": batch}, None),
        ("kiosk-a", {"device": "kiosk-a", "events": [other]}, None),
        ("kiosk-a", {"device": "kiosk-a", "events": [changed]}, None),
        ("kiosk-a", {"device": "board-a"}, None),
        ("kiosk-a", {"device": "kiosk-a"}, "not-a-token"),
    ]
    for device, body, token in cases:
        token = token or srv.tokens[device]
        fast = comparable(post(srv, FAST, body, token))
        route = comparable(post(srv, ROUTE, body, token))
        assert fast == route, body
    statuses = [comparable(post(srv, FAST, b, t or srv.tokens[d]))[0] for d, b, t in cases]
    assert statuses == [200, 200, 200, 422, 409, 403, 401]
    assert srv.count() == 2


def test_bodies_the_fast_path_cannot_take_get_the_route_s_answer(srv: Srv) -> None:
    """GIVEN bodies that are not JSON, not an object, or not a valid sync, THEN the answers are
    the route's: 400 malformed JSON, 422 with the field at fault."""
    token = srv.tokens["board-a"]
    url = f"{srv.url}/api/v1/sync"

    def raw(content_type: str, data: bytes) -> requests.Response:
        headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}"}
        return srv.http.post(url, data=data, headers=headers)

    broken = b'{"device": '
    listed = b"[1, 2]"
    negative = json.dumps({"device": "board-a", "cursor": -1}).encode()
    assert raw(FAST, broken).json()["code"] == "malformed_json"
    assert raw(FAST, listed).status_code == 422
    assert raw(FAST, negative).json()["field"] == "cursor"
    for data in (broken, listed, negative):
        assert comparable(raw(FAST, data)) == comparable(raw(ROUTE, data))
