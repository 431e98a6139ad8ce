"""Unknown addresses: an HTML page for the web pages, the JSON error body for the API."""

from __future__ import annotations

import pytest
from markupsafe import escape

from tests.server.helpers import SITE, Srv


@pytest.mark.parametrize(
    "path",
    [
        "/nothing-here",
        f"/console/{SITE}/1/nothing/here",
        f"/admin/{SITE}/devices/nothing",
        f"/stats/{SITE}/nothing/here",
        "/t/abcdefghijklmnopqrstuvwx/nothing",
        "/wait/a/b",
        "/assets/nothing.css",
    ],
)
def test_an_unknown_page_is_an_html_404(shared_srv: Srv, path: str) -> None:
    r = shared_srv.request("GET", path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Page indisponible</h1>" in r.text
    assert escape("Cette page n'existe pas ou plus.") in r.text
    assert "set-cookie" not in r.headers  # an error page starts no session


def test_the_html_404_speaks_the_visitors_language(shared_srv: Srv) -> None:
    r = shared_srv.request("GET", "/console/x/y/z", params={"lang": "en"})
    assert r.status_code == 404
    assert "This page does not exist." in r.text


def test_a_page_asked_with_the_wrong_method_is_an_html_405(shared_srv: Srv) -> None:
    r = shared_srv.request("DELETE", "/login")
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("text/html")
    assert escape("Cette adresse ne s'ouvre pas de cette façon.") in r.text
    assert "GET" in r.headers["allow"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/nothing-here", 404, "not_found"),
        ("GET", "/api/v1/sites/x/y/z/w", 404, "not_found"),
        ("POST", "/healthz", 405, "method_not_allowed"),
        ("DELETE", "/readyz", 405, "method_not_allowed"),
    ],
)
def test_the_api_and_probes_keep_json_errors(
    shared_srv: Srv, method: str, path: str, status: int, code: str
) -> None:
    r = shared_srv.request(method, path)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert r.json()["code"] == code
