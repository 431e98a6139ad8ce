"""Tickets issued and counter actions answered before routing
(``server.api.sites.ActionFastPath``) are answered as the routes answer them: the routes still
take every body of another content type (``application/vnd.guichet+json`` is JSON for them,
not for the fast path)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from server.api import sites
from tests.server.helpers import SITE, Srv

FAST = "application/json"
ROUTE = "application/vnd.guichet+json"


def post(srv: Srv, path: str, content_type: str, body: Any, token: str) -> requests.Response:
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}"}
    data = b"" if body is None else json.dumps(body)
    return srv.http.post(f"{srv.url}/api/v1{path}", data=data, headers=headers, timeout=30)


def shape(value: Any) -> Any:
    """The answer's structure (keys, and the types of values): what two answers of the same
    action at different moments share."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def answer(r: requests.Response, exact: bool) -> tuple[int, dict[str, str], Any]:
    varying = ("date", "content-length")
    headers = {k.lower(): v for k, v in r.headers.items() if k.lower() not in varying}
    body = r.json()
    return r.status_code, headers, body if exact else shape(body)


def test_the_fast_path_and_the_routes_give_the_same_answers(
    any_srv: Srv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the test site WHEN the same issues and counter actions go once each way (tickets
    issued, calls, a press answered again, refusals: unknown service, priority not offered,
    wrong token, another site, unknown counter, a malformed press) THEN status, headers and
    body are the same (the same structure where each way made a new ticket or call)."""
    srv = any_srv
    taken: list[str] = []  # the requests the fast path answered itself

    def spy(run: Any) -> Any:
        def spied(*args: Any) -> Any:
            work = run(*args)
            if work is not None:
                taken.append(args[-2])
            return work

        return spied

    for name in ("_issue_run", "_action_run"):
        monkeypatch.setattr(sites, name, spy(getattr(sites, name)))
    kiosk, board = srv.tokens["kiosk-a"], srv.tokens["board-a"]
    tickets = f"/sites/{SITE}/tickets"
    counter = f"/sites/{SITE}/counters"
    # (path, the other way's path when each way changes the queue, body, token, status): a
    # ticket issued or called each way is compared by structure, at counters in the same state.
    cases: list[tuple[str, str | None, Any, str, int]] = [
        (tickets, tickets, {"service": "civil"}, kiosk, 200),
        (tickets, tickets, {"service": "passports", "lang": "en"}, kiosk, 200),
        (tickets, tickets, {"service": "civil", "priority": "pregnancy"}, kiosk, 200),
        (tickets, None, {"service": "nope"}, kiosk, 422),
        (tickets, None, {"service": "passports", "priority": "pregnancy"}, kiosk, 422),
        (tickets, None, {"service": "civil"}, "not-a-token", 401),
        (tickets, None, {"service": "civil"}, board, 403),
        (tickets, None, {"service": "Not An Id"}, kiosk, 422),
        ("/sites/elsewhere/tickets", None, {"service": "civil"}, kiosk, 403),
        (f"{counter}/1/next", f"{counter}/5/next", {}, board, 200),
        (f"{counter}/3/next", f"{counter}/7/next", None, board, 200),
        (f"{counter}/1/recall", f"{counter}/5/recall", None, board, 200),
        (f"{counter}/99/next", None, None, board, 404),
        (f"{counter}/1/next", None, {"press": "x"}, board, 422),
        (f"{counter}/1/next", None, None, kiosk, 403),
    ]
    for path, other, body, token, status in cases:
        fast = answer(post(srv, path, FAST, body, token), other is None)
        route = answer(post(srv, other or path, ROUTE, body, token), other is None)
        assert fast == route, (path, body)
        assert fast[0] == status, (path, body, fast)
    # Each way answered each case: the fast path all but the malformed ones.
    assert len(taken) == len(cases) - 2
    # A press answered again is answered with its decision, whichever way it comes.
    press = {"press": str(uuid.uuid4()), "budget_seconds": 30}
    path = f"/sites/{SITE}/counters/2/next"
    first = answer(post(srv, path, FAST, press, board), True)
    assert first[0] == 200 and first[2]["ticket"] is not None
    assert answer(post(srv, path, ROUTE, press, board), True) == first
    assert answer(post(srv, path, FAST, press, board), True) == first
