"""Machine access to the statistics exports: HTTP Basic and a manager's read-only API token,
fetched with curl as an open-data or BI job would, from a real server on loopback."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import pytest

from guichet.cli import main
from server import apitokens
from tests.server.helpers import AGENT, MANAGER, SITE, Srv
from tests.server.test_stats_passages import PERIOD, seed

CSV_PATH = f"/api/v1/sites/{SITE}/passages.csv?from={PERIOD['from']}&to={PERIOD['to']}"


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "60", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def status(srv: Srv, path: str, *auth: str) -> str:
    out = curl("--output", "/dev/null", "--write-out", "%{http_code}", *auth, srv.url + path)
    return out.stdout


def test_curl_fetches_the_csv_with_http_basic(srv: Srv) -> None:
    seed(srv)
    out = curl("--fail", "-u", f"{MANAGER[0]}:{MANAGER[1]}", srv.url + CSV_PATH)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout.lstrip("\ufeff"))))
    assert [(r["ticket"], r["service"]) for r in rows][:2] == [
        ("A900", "civil"),
        ("A900", "passports"),
    ]
    assert status(srv, CSV_PATH, "-u", f"{MANAGER[0]}:wrong") == "401"
    assert status(srv, CSV_PATH, "-u", f"{AGENT[0]}:{AGENT[1]}") == "403"


def test_a_managers_api_token_reads_the_exports_and_nothing_more(
    srv: Srv, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """GIVEN a token made with `guichet user token` for a manager
    WHEN a script sends it as a bearer token THEN it gets the CSV and JSON exports and the
    queue, but no counter action; revoked, it gets 401."""
    seed(srv)
    config = tmp_path / "server.toml"
    config.write_text(
        f'role = "server"\ndatabase_url = "{srv.thread.ctx.settings.database_url}"\n',
        encoding="utf-8",
    )
    assert main(["user", "token", MANAGER[0], "--config", str(config)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith(apitokens.PREFIX)
    bearer = ("-H", f"Authorization: Bearer {token}")
    out = curl("--fail", *bearer, srv.url + CSV_PATH)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 7  # header and six passages
    stats_path = f"/api/v1/sites/{SITE}/stats?from={PERIOD['from']}&to={PERIOD['to']}"
    assert status(srv, stats_path, *bearer) == "200"
    assert status(srv, f"/api/v1/sites/{SITE}/queue", *bearer) == "200"
    act = curl(
        "-X",
        "POST",
        "--write-out",
        "%{http_code}",
        "-o",
        "/dev/null",
        *bearer,
        srv.url + f"/api/v1/sites/{SITE}/counters/1/next",
    )
    assert act.stdout == "403"
    assert status(srv, CSV_PATH, "-H", f"Authorization: Bearer {token}x") == "401"

    assert main(["user", "token", MANAGER[0], "--revoke", "--config", str(config)]) == 0
    assert "1 API tokens revoked" in capsys.readouterr().out
    assert status(srv, CSV_PATH, *bearer) == "401"


def test_only_managers_and_admins_get_a_token(srv: Srv) -> None:
    with pytest.raises(ValueError, match="managers and admins"):
        apitokens.create(srv.engine, AGENT[0])
    with pytest.raises(ValueError, match="no such user"):
        apitokens.create(srv.engine, "nobody")
