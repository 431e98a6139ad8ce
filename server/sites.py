"""Sites in the database: loading a site description, and reading it back quickly.

A site's configuration is stored as ``SiteConfig`` JSON with a version (a hash of that JSON);
devices compare versions at each sync and receive the configuration when theirs differs.
``SiteRegistry`` keeps the parsed configuration of each site in memory, keyed by version, so a
request costs one small query instead of a JSON parse and validation.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from config.site import SiteConfig
from server import auth, db, notify, schema
from server.appointments import calendar
from tickets.model import Site


def config_json(cfg: SiteConfig) -> dict[str, Any]:
    """The site's configuration as stored and sent to devices: what differs from the defaults.
    A setting a release adds stays out until someone sets it, so a previous release (a host
    not upgraded yet, a device not updated yet, both refusing settings they do not know) still
    reads the configuration during a rolling upgrade."""
    return cfg.model_dump(mode="json", exclude_defaults=True)


def config_version(cfg: SiteConfig) -> str:
    blob = json.dumps(config_json(cfg), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class LoadedSite:
    id: str
    version: str
    config: SiteConfig
    site: Site
    config_json: dict[str, Any]

    @property
    def reserved(self) -> list[tuple[int, int]]:
        """Every device's offline range: no lease may grant these numbers."""
        return [d.offline_range for d in self.site.devices if d.offline_range is not None]


def load_site(engine: Engine, cfg: SiteConfig) -> dict[str, str]:
    """Creates or updates a site and its devices; returns the new tokens by device id.

    A device declared without a token yet gets one; a device no longer declared is revoked;
    a revoked device declared again gets a new token (its old one stays invalid).
    Raises ValueError for appointment holidays the calendar does not know.
    """
    calendar.check_site(cfg)
    site_id = cfg.site.id
    values = {
        "name": cfg.site.name,
        "config": config_json(cfg),
        "config_version": config_version(cfg),
    }
    tokens: dict[str, str] = {}
    with db.write(engine) as conn:
        row = db.lock_site(conn, site_id)
        if row is None:
            conn.execute(sa.insert(schema.sites).values(id=site_id, last_seq=0, **values))
        else:
            conn.execute(sa.update(schema.sites).where(schema.sites.c.id == site_id).values(values))
            if row.config_version != values["config_version"]:
                notify.announce_config(conn, site_id)
        dev = schema.devices
        existing = {
            r.id: r for r in conn.execute(sa.select(dev).where(dev.c.site == site_id)).all()
        }
        declared = {d.id for d in cfg.devices}
        for d in cfg.devices:
            old = existing.get(d.id)
            if old is not None and old.token_hash and not old.revoked:
                if old.role != d.role.value:
                    conn.execute(
                        sa.update(dev)
                        .where(dev.c.site == site_id, dev.c.id == d.id)
                        .values(role=d.role.value)
                    )
                continue
            token = auth.new_device_token()
            tokens[d.id] = token
            fields = {"role": d.role.value, "token_hash": auth.token_hash(token), "revoked": False}
            if old is None:
                conn.execute(sa.insert(dev).values(site=site_id, id=d.id, **fields))
            else:
                conn.execute(
                    sa.update(dev).where(dev.c.site == site_id, dev.c.id == d.id).values(fields)
                )
        for gone in set(existing) - declared:
            conn.execute(
                sa.update(dev).where(dev.c.site == site_id, dev.c.id == gone).values(revoked=True)
            )
    return tokens


class SiteRegistry:
    """Parsed site configurations, re-read when the stored version changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, LoadedSite] = {}

    def get(self, conn: Connection, site_id: str) -> LoadedSite | None:
        s = schema.sites
        version = conn.execute(
            sa.select(s.c.config_version).where(s.c.id == site_id)
        ).scalar_one_or_none()
        if version is None:
            return None
        return self._parsed(conn, site_id, version)

    def cached(self, site_id: str, version: str) -> LoadedSite | None:
        """The site at ``version`` if that is the one held (no query), else None."""
        with self._lock:
            cached = self._cache.get(site_id)
        return cached if cached is not None and cached.version == version else None

    def held(self, site_id: str) -> LoadedSite | None:
        """The site as last parsed here, whatever its version now (no query), or None."""
        with self._lock:
            return self._cache.get(site_id)

    def from_row(self, conn: Connection, row: Any) -> LoadedSite:
        """The site of a ``sites`` row already read with its ``config_version`` (under the
        site lock: ``db.lock_site``); its configuration is read on ``conn`` only when the
        version is not the one held."""
        return self._parsed(conn, row.id, row.config_version)

    def _parsed(self, conn: Connection, site_id: str, version: str) -> LoadedSite:
        with self._lock:
            cached = self._cache.get(site_id)
        if cached is not None and cached.version == version:
            return cached
        s = schema.sites
        raw = conn.execute(sa.select(s.c.config, s.c.config_version).where(s.c.id == site_id)).one()
        return self._store(site_id, raw.config_version, raw.config)

    def _store(self, site_id: str, version: str, raw: Any) -> LoadedSite:
        cfg = SiteConfig.model_validate(raw)
        loaded = LoadedSite(site_id, version, cfg, cfg.to_domain(), config_json(cfg))
        with self._lock:
            self._cache[site_id] = loaded
        return loaded

    def get_by_engine(self, engine: Engine, site_id: str) -> LoadedSite | None:
        with db.read(engine) as conn:
            return self.get(conn, site_id)
