"""What the server does once before serving: bring the schema up to date, load the site files
whose content changed, and find the key that signs web sessions.

With several worker processes the supervising process does this once, then hands the result
(``Prepared``) to every worker; a single process does it in its own start-up.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from config.loader import load_model
from config.server import ServerSettings
from config.site import SiteConfig
from server import db, migrations, schema
from server.sites import load_site

log = logging.getLogger(__name__)

WEB_SESSION_KEY = "web_session"
EVENT_SIGNING_KEY = "event_signing"


@dataclass(frozen=True)
class Prepared:
    schema_version: int
    web_secret: str
    """The key that signs web sessions: ``ServerSettings.secret_key``, or when empty the
    database's shared one (the same for every process of that database)."""
    event_secret: str
    """The secret the server's site keys derive from (``tickets.signing.server_site_key``):
    the database's, the same for every process."""


def prepare(engine: Engine, settings: ServerSettings) -> Prepared:
    """Migrates the database, loads changed site files, returns what the workers need."""
    version = migrations.migrate(engine)
    for path in settings.site_files:
        load_site_file(engine, Path(path))
    secret = settings.secret_key or shared_key(engine, WEB_SESSION_KEY)
    return Prepared(
        schema_version=version,
        web_secret=secret,
        event_secret=shared_key(engine, EVENT_SIGNING_KEY),
    )


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_site_file(engine: Engine, path: Path) -> bool:
    """Loads a site file unless the site was last loaded from these same bytes; True when it
    was loaded. A file that did not change therefore never undoes the administration pages'
    edits; a file that changed replaces them."""
    cfg = load_model(SiteConfig, path)
    digest = file_digest(path)
    site_id = cfg.site.id
    f = schema.site_files
    with db.read(engine) as conn:
        stored = conn.execute(sa.select(f.c.sha256).where(f.c.site == site_id)).scalar()
    if stored == digest:
        log.info("site %s: %s unchanged since it was last loaded; not loaded again", site_id, path)
        return False
    new = load_site(engine, cfg)
    with db.write(engine) as conn:
        conn.execute(sa.delete(f).where(f.c.site == site_id))
        conn.execute(
            sa.insert(f).values(site=site_id, path=str(path), sha256=digest, loaded_at=time.time())
        )
    log.info("site %s loaded from %s", site_id, path)
    if new:
        log.warning(
            "site %s: devices %s have no token yet; run `guichet site load %s` to create "
            "and print them",
            site_id,
            ", ".join(sorted(new)),
            path,
        )
    return True


def shared_key(engine: Engine, name: str) -> str:
    """A secret stored in the database, made the first time it is asked for (by whichever
    process comes first; the others read the same)."""
    k = schema.server_keys
    with db.write(engine) as conn:
        conn.execute(
            db.insert(conn, k)
            .values(name=name, value=secrets.token_urlsafe(32), created_at=time.time())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return str(conn.execute(sa.select(k.c.value).where(k.c.name == name)).scalar_one())
