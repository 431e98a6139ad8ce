"""GET /api/v1/sites/{site}/peers: the keys the devices of a site check each other with when
they exchange events directly on the local network (``tickets.peer``, docs/offline.md).

A device's peer key is the sha256 of its token, which is what the server stores anyway: it
lets a peer check a signature the device made with its token, and it cannot be used as a
token against the server. Only a device of the site may read its site's keys.

The list ends with the server's own key for the site (device ``@server``, role ``server``):
the events the server makes carry its signature, so a device can relay them to its peers
too (``tickets.signing``).
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from server import db, schema
from server.api.deps import Ctx, DeviceCaller, SiteId
from server.auth import Principal
from server.context import ServerContext
from server.errors import ApiError, responses
from tickets.signing import SERVER_SIGNER

router = APIRouter()


class PeerKey(BaseModel):
    device: str
    role: str
    key: str
    """sha256 (hex) of the device's token."""


class PeerKeys(BaseModel):
    site: str
    peers: list[PeerKey]


def peer_keys(ctx: ServerContext, who: Principal, site: str) -> PeerKeys:
    if who.kind != "device" or site not in who.sites:
        raise ApiError(403, "forbidden", f"only a device of site {site!r} may read its peer keys")
    d = schema.devices
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(d.c.id, d.c.role, d.c.token_hash)
            .where(d.c.site == site, d.c.revoked.is_(False), d.c.token_hash.is_not(None))
            .order_by(d.c.id)
        ).all()
    keys = [PeerKey(device=r.id, role=r.role, key=r.token_hash) for r in rows]
    keys.append(PeerKey(device=SERVER_SIGNER, role="server", key=ctx.event_key(site)))
    return PeerKeys(site=site, peers=keys)


@router.get(
    "/sites/{site}/peers",
    response_model=PeerKeys,
    responses=responses(401, 403, 422, 429),
    summary="Keys of the site's devices, to check each other on the local network",
)
async def peers(site: SiteId, ctx: Ctx, who: DeviceCaller) -> PeerKeys:
    return await run_in_threadpool(peer_keys, ctx, who, site)
