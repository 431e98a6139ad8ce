"""The server hands each device of a site its site's peer keys, and nobody else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from config.server import ServerSettings
from server.run import ServerThread
from tests.server.helpers import SITE, site_config
from tickets.peer import fetch_peer_keys, peer_key
from tickets.signing import SERVER_SIGNER
from tickets.sync import AuthError, RequestRejected, SyncClient


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServerThread, dict[str, str]]]:
    with ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/s.db")) as s:
        tokens = s.load_site(site_config())
        tokens |= {f"other:{k}": v for k, v in s.load_site(site_config("othersite")).items()}
        s.add_user("manon", "manager-password", "manager", [SITE])
        yield s, tokens


def test_every_device_of_the_site_gets_the_keys_of_all(
    server: tuple[ServerThread, dict[str, str]],
) -> None:
    s, tokens = server
    board = SyncClient(s.url, tokens["board-a"], "board-a")
    with board.session:
        keys = fetch_peer_keys(board, SITE)
    server_key = keys.pop(SERVER_SIGNER)
    assert keys == {d: peer_key(tokens[d]) for d in ("kiosk-a", "kiosk-b", "board-a", "board-b")}
    # The server's key for the site: the same whichever device asks, another for another site.
    kiosk = SyncClient(s.url, tokens["kiosk-a"], "kiosk-a")
    other = SyncClient(s.url, tokens["other:kiosk-a"], "kiosk-a")
    with kiosk.session, other.session:
        assert fetch_peer_keys(kiosk, SITE)[SERVER_SIGNER] == server_key
        assert fetch_peer_keys(other, "othersite")[SERVER_SIGNER] != server_key
    assert server_key not in keys.values()


def test_a_device_of_another_site_or_a_person_gets_none(
    server: tuple[ServerThread, dict[str, str]],
) -> None:
    s, tokens = server
    other = SyncClient(s.url, tokens["other:board-a"], "board-a")
    with other.session, pytest.raises(AuthError) as refused:
        fetch_peer_keys(other, SITE)
    assert refused.value.status_code == 403
    r = requests.get(f"{s.url}/api/v1/sites/{SITE}/peers", auth=("manon", "manager-password"))
    assert r.status_code == 403
    r = requests.get(f"{s.url}/api/v1/sites/{SITE}/peers")
    assert r.status_code == 401


def test_a_revoked_device_drops_out_of_the_keys(
    server: tuple[ServerThread, dict[str, str]],
) -> None:
    """A device removed from the site description loses its key: peers refuse it from the
    next refresh of their keys."""
    s, tokens = server
    cfg = site_config()
    fewer = cfg.model_copy(update={"devices": [d for d in cfg.devices if d.id != "board-b"]})
    s.load_site(fewer)
    kiosk = SyncClient(s.url, tokens["kiosk-a"], "kiosk-a")
    with kiosk.session:
        keys = fetch_peer_keys(kiosk, SITE)
    assert "board-b" not in keys and "board-a" in keys
    revoked = SyncClient(s.url, tokens["board-b"], "board-b")
    with revoked.session, pytest.raises((AuthError, RequestRejected)):
        fetch_peer_keys(revoked, SITE)
