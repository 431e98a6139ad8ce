"""What the server does before serving: site files loaded only when they changed, and the key
that signs web sessions shared through the database."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from itsdangerous import BadSignature

from config.loader import load_model
from config.server import ServerSettings
from config.site import SiteConfig
from server.run import ServerThread
from server.sites import load_site
from server.web.sessions import SessionCodec

EXAMPLE_SITE = Path(__file__).resolve().parents[2] / "config" / "examples" / "site-townhall.toml"


def site_name(server: ServerThread) -> str:
    r = requests.get(f"{server.url}/api/v1/public/sites/mairie/wait", timeout=10)
    assert r.status_code == 200, r.text
    name: str = r.json()["name"]
    return name


def test_a_site_file_is_loaded_again_only_when_its_content_changed(tmp_path: Path) -> None:
    """GIVEN a server with a site file, WHEN an administrator renames the site on the admin
    pages and the server restarts, THEN the rename stays; WHEN the file itself changes, THEN
    the next start loads it (and its content replaces the pages' edits)."""
    site_file = tmp_path / "site.toml"
    site_file.write_text(EXAMPLE_SITE.read_text(encoding="utf-8"), encoding="utf-8")
    settings = ServerSettings(database_url=f"sqlite:///{tmp_path}/g.db", site_files=[site_file])
    with ServerThread(settings) as server:
        assert site_name(server) == "Mairie de Saint-Exemple"
        cfg = load_model(SiteConfig, site_file)
        edited = cfg.model_copy(update={"site": cfg.site.model_copy(update={"name": "Hôtel"})})
        load_site(server.ctx.engine, edited)  # what a save on the admin pages does
        assert site_name(server) == "Hôtel"
    with ServerThread(settings) as server:
        assert site_name(server) == "Hôtel"
    text = site_file.read_text(encoding="utf-8")
    site_file.write_text(text.replace("Saint-Exemple", "Saint-Autre", 1), encoding="utf-8")
    with ServerThread(settings) as server:
        assert site_name(server) == "Mairie de Saint-Autre"


def codec_of(server: ServerThread) -> SessionCodec:
    codec = server.app.state.web.codec
    assert isinstance(codec, SessionCodec)
    return codec


def test_without_a_secret_key_the_database_key_signs_for_every_process_and_restart(
    tmp_path: Path,
) -> None:
    settings = ServerSettings(database_url=f"sqlite:///{tmp_path}/g.db")
    with ServerThread(settings) as first, ServerThread(settings) as second:
        cookie = codec_of(first).serializer.dumps({"c": "token", "u": "alice"})
        assert codec_of(second).serializer.loads(cookie) == {"c": "token", "u": "alice"}
    with ServerThread(settings) as restarted:
        assert codec_of(restarted).serializer.loads(cookie) == {"c": "token", "u": "alice"}
    other = ServerSettings(database_url=f"sqlite:///{tmp_path}/other.db")
    with ServerThread(other) as elsewhere, pytest.raises(BadSignature):
        codec_of(elsewhere).serializer.loads(cookie)


def test_a_configured_secret_key_is_used_as_is(tmp_path: Path) -> None:
    settings = ServerSettings(database_url=f"sqlite:///{tmp_path}/g.db", secret_key="configured")
    with ServerThread(settings) as server:
        cookie = codec_of(server).serializer.dumps({"c": "x"})
    assert SessionCodec("configured", 10, secure=False).serializer.loads(cookie) == {"c": "x"}
