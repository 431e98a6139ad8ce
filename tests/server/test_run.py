"""ServerThread: the real server in a thread, as other packages' tests use it."""

from __future__ import annotations

import threading
from pathlib import Path

import requests

from config.server import ServerSettings
from server import migrations
from server.run import ServerThread
from tests.conftest import PATIENCE

EXAMPLE_SITE = Path(__file__).resolve().parents[2] / "config" / "examples" / "site-townhall.toml"


def test_server_thread_serves_on_a_free_loopback_port_and_stops(tmp_path: Path) -> None:
    settings = ServerSettings(database_url=f"sqlite:///{tmp_path}/g.db")
    with ServerThread(settings) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert not server.url.endswith(":0")
        tokens = server.load_site(EXAMPLE_SITE)
        assert set(tokens) == {"kiosk-entree", "board-salle"}
        assert requests.get(f"{server.url}/readyz", timeout=PATIENCE).json() == {
            "status": "ok",
            "schema_version": migrations.STEPS[-1].version,
        }
        r = requests.post(
            f"{server.url}/api/v1/sync",
            headers={"Authorization": f"Bearer {tokens['kiosk-entree']}"},
            json={"device": "kiosk-entree"},
            timeout=PATIENCE,
        )
        assert r.status_code == 200
        assert r.json()["config"]["site"]["id"] == "mairie"
        url = server.url
    try:
        requests.get(f"{url}/healthz", timeout=2)
        raise AssertionError("the server still answers after stop()")
    except requests.ConnectionError:
        pass


def test_stop_ends_open_streams(tmp_path: Path) -> None:
    settings = ServerSettings(database_url=f"sqlite:///{tmp_path}/g.db")
    server = ServerThread(settings).start()
    token = server.load_site(EXAMPLE_SITE)["board-salle"]
    stream = requests.get(
        f"{server.url}/api/v1/sites/mairie/stream",
        headers={"Authorization": f"Bearer {token}"},
        stream=True,
        timeout=30,
    )
    assert stream.status_code == 200
    finished = threading.Event()

    def read_all() -> None:
        stream.content  # returns once the server closes the stream  # noqa: B018
        finished.set()

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    server.stop()
    assert finished.wait(PATIENCE)
    assert not server._thread.is_alive()


def test_site_files_are_loaded_at_start(tmp_path: Path) -> None:
    settings = ServerSettings(database_url=f"sqlite:///{tmp_path}/g.db", site_files=[EXAMPLE_SITE])
    with ServerThread(settings) as server:
        r = requests.get(f"{server.url}/api/v1/public/sites/mairie/wait", timeout=PATIENCE)
    assert r.status_code == 200
    assert [s["id"] for s in r.json()["services"]] == [
        "etat-civil",
        "passeports",
        "urbanisme",
        "ccas",
    ]
