"""Where else a service can be done: the other sites of this server offering the same service,
with their wait now and their next free appointment slot.

Two services of different sites are the same service when they have the same key: the
``same_as`` of the site file, or else the service's ``id`` (``ServiceConfig.key``). The answer
is per service and small (one line per other site), so the kiosk's long-wait screen and the
public pages can ask for it often; ``GET /api/v1/public/sites/{site}/services/{service}/
elsewhere`` says it may be cached for ``MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from server import db, schema
from server.appointments import booking
from server.context import ServerContext
from server.errors import not_found
from server.sites import LoadedSite
from server.states import window_floor
from server.views import public_services

MAX_AGE_SECONDS = 30
"""How long a client may keep an answer (the wait moves; the sites and services seldom)."""


class OtherSite(BaseModel):
    site: str = Field(description="The other site's id.")
    name: str = Field(description="The other site's name.")
    service: str = Field(description="The same service's id at that site.")
    service_names: dict[str, str] = Field(description="Its name per language code.")
    open_now: bool = Field(description="Whether the service is open there now.")
    waiting: int = Field(description="People waiting for it there now.")
    estimated_wait_seconds: float | None = Field(
        description="Estimated wait there now for a new ticket; null when it is closed."
    )
    next_slot: int | None = Field(
        description="Its first free appointment slot there (epoch seconds); null when it "
        "takes no appointments or none is free within its booking horizon."
    )
    next_slot_local: str | None = Field(description="That slot in the site's local time (ISO).")
    wait_path: str = Field(description="Path of the site's public wait page on this server.")
    booking_path: str | None = Field(
        description="Path of the page that books this service there; null when it takes no "
        "appointments."
    )


class Elsewhere(BaseModel):
    site: str
    service: str
    key: str = Field(description="What matched the services: ``same_as`` or the service id.")
    server_time: float
    sites: list[OtherSite] = Field(description="Other sites offering the service, by name.")


def service_key(loaded: LoadedSite, service: str) -> str | None:
    found = next((s for s in loaded.config.services if s.id == service), None)
    return found.key if found is not None else None


def _other(engine: Engine, ctx: ServerContext, loaded: LoadedSite, service: str) -> OtherSite:
    now = ctx.now()
    with db.read(engine) as conn, ctx.states.hold(conn, loaded, now) as state:
        day, _floor = window_floor(loaded, now)
        wait = next(s for s in public_services(state, loaded.site, day, now) if s.id == service)
    svc = loaded.site.service(service)
    assert svc is not None
    slot = None
    if svc.appointments is not None:
        first = booking.first_free(engine, loaded, service, now)
        slot = int(first.start) if first is not None else None
    return OtherSite(
        site=loaded.id,
        name=loaded.site.name,
        service=service,
        service_names=dict(svc.names),
        open_now=wait.open_now,
        waiting=wait.waiting,
        estimated_wait_seconds=wait.estimated_wait_seconds if wait.open_now else None,
        next_slot=slot,
        next_slot_local=loaded.site.local(slot).isoformat() if slot is not None else None,
        wait_path=f"/wait/{loaded.id}",
        booking_path=f"/book/{loaded.id}/{service}" if svc.appointments is not None else None,
    )


def elsewhere(ctx: ServerContext, site: str, service: str) -> Elsewhere:
    """The other sites offering ``service`` of ``site`` (404 when either is unknown)."""
    loaded = ctx.sites.get_by_engine(ctx.engine, site)
    key = service_key(loaded, service) if loaded is not None else None
    if loaded is None or key is None:
        raise not_found(f"service {service!r} of site {site!r}")
    with db.read(ctx.engine) as conn:
        ids = conn.execute(sa.select(schema.sites.c.id).where(schema.sites.c.id != site))
        sites = [ctx.sites.get(conn, other) for other in ids.scalars().all()]
    others = []
    for other in sorted((s for s in sites if s is not None), key=lambda s: s.site.name.lower()):
        match = next((s.id for s in other.config.services if s.key == key), None)
        if match is not None:
            others.append(_other(ctx.engine, ctx, other, match))
    return Elsewhere(site=site, service=service, key=key, server_time=ctx.now(), sites=others)
