"""Administration of a site's devices (kiosks, boards) and the fleet's health (role admin).

A device is declared in the site configuration and holds a bearer token, of which the server
keeps only a hash: a token is shown once, when it is made. Adding a device declares it and
makes its token (``server.sites.load_site``); "new token" replaces the token of a device (the
old one stops working at once); "revoke" removes the device from the configuration, which
revokes its token. The fleet page reads the heartbeat each device sends with its syncs.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from config.site import DeviceConfig
from server import auth, db, notify, schema
from server.context import ServerContext
from server.sites import LoadedSite, load_site
from server.web import format, siteforms
from server.web.admin import admin_post, admin_site, form_error, store_config
from server.web.page import Page
from server.web.siteforms import FormError
from tickets.heartbeat import CLOCK_OFFSET_FIELD, CLOCK_OK_SECONDS, clock_amount, clock_right

router = APIRouter(include_in_schema=False)

OFFLINE_AFTER_SECONDS = 120.0
"""A device that has not synced for this long counts as offline (devices sync every few
seconds while they can)."""
_PRINTER_LEVEL = {"ready": "ok", "paper_near_end": "warn"}
_BUTTONS_LEVEL = {"connected": "ok", "connecting": "warn", "not configured": "neutral"}


def get_page(request: Request) -> Page:
    return Page(request)


PageDep = Annotated[Page, Depends(get_page)]


def device_rows(ctx: ServerContext, site: str) -> dict[str, Any]:
    d = schema.devices
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(d).where(d.c.site == site).order_by(d.c.id)).all()
    return {r.id: r for r in rows}


def rotate_token(ctx: ServerContext, site: str, device: str) -> str | None:
    """Gives an active device a new token (the old one stops working); None when the device
    has no row or is revoked."""
    token = auth.new_device_token()
    d = schema.devices
    with db.write(ctx.engine) as conn:
        done = conn.execute(
            sa.update(d)
            .where(d.c.site == site, d.c.id == device, d.c.revoked.is_(False))
            .values(token_hash=auth.token_hash(token))
        )
        notify.announce_devices(conn, site)  # forgotten by every process's memory
    return token if done.rowcount == 1 else None


def _token_state(row: Any | None) -> str:
    if row is None or not row.token_hash:
        return "none"
    return "revoked" if row.revoked else "active"


def _devices_page(
    page: Page,
    loaded: LoadedSite,
    *,
    new_token: dict[str, str] | None = None,
    error: FormError | None = None,
    echo: dict[str, Any] | None = None,
) -> Response:
    rows = device_rows(page.ctx, loaded.id)
    declared = {d.id: d for d in loaded.config.devices}
    devices = []
    for device_id in sorted(set(declared) | set(rows)):
        cfg, row = declared.get(device_id), rows.get(device_id)
        role = cfg.role.value if cfg else str(getattr(row, "role", ""))
        state = _token_state(row) if cfg else "revoked"
        span = cfg.offline_range if cfg else None
        devices.append(
            {
                "id": device_id,
                "role": role,
                "offline_range": f"{span[0]}–{span[1]}" if span else "",
                "token_state": state,
            }
        )
    return page.render(
        "admin_devices.html",
        section="admin",
        tab="devices",
        status=422 if error else 200,
        site={"id": loaded.id, "name": loaded.site.name},
        devices=devices,
        new_token=new_token,
        form=echo or {"id": "", "role": "kiosk", "offline_range": ""},
        **form_error(page, error),
    )


@router.get("/admin/{site}/devices", response_class=HTMLResponse)
def devices_page(site: str, page: PageDep) -> Response:
    return _devices_page(page, admin_site(page, site))


@router.post("/admin/{site}/devices")
async def add_device(site: str, request: Request) -> Response:
    page, loaded, form = await admin_post(request, site)
    try:
        new_cfg, device = siteforms.add_device(loaded.config, form)
        tokens = await run_in_threadpool(store_config, page, loaded, {}, new_cfg)
    except FormError as exc:
        echo = {k: form.get(k, "") for k in ("id", "role", "offline_range")}
        return _devices_page(page, loaded, error=exc, echo=echo)
    fresh = page.ctx.sites.get_by_engine(page.ctx.engine, site) or loaded
    token = tokens.get(device.id)
    shown = {"device": device.id, "token": token} if token else None
    return _devices_page(page, fresh, new_token=shown)


@router.post("/admin/{site}/devices/{device}/token")
async def new_token(site: str, device: str, request: Request) -> Response:
    page, loaded, _form = await admin_post(request, site)
    declared = next((d for d in loaded.config.devices if d.id == device), None)
    rows = await run_in_threadpool(device_rows, page.ctx, site)
    row = rows.get(device)
    token: str | None = None
    if declared is not None and _token_state(row) == "active":
        token = await run_in_threadpool(rotate_token, page.ctx, site, device)
    else:
        # Declared without a token yet, or revoked: declaring it (again) makes a new token.
        role = declared.role if declared else (row.role if row is not None else None)
        if role is None:
            return page.error(404, page._("error.not_found"))
        again = declared or DeviceConfig(id=device, role=role)
        cfg = siteforms.declare_device(loaded.config, again)
        tokens = await run_in_threadpool(load_site, page.ctx.engine, cfg)
        token = tokens.get(device)
    fresh = page.ctx.sites.get_by_engine(page.ctx.engine, site) or loaded
    shown = {"device": device, "token": token} if token else None
    return _devices_page(page, fresh, new_token=shown)


@router.post("/admin/{site}/devices/{device}/revoke")
async def revoke(site: str, device: str, request: Request) -> Response:
    page, loaded, _form = await admin_post(request, site)
    if not any(d.id == device for d in loaded.config.devices):
        return page.error(404, page._("error.not_found"))
    cfg = siteforms.remove_device(loaded.config, device)
    await run_in_threadpool(load_site, page.ctx.engine, cfg)
    page.session.flash("success", "admin.revoked", device=device)
    return page.redirect(f"/admin/{site}/devices")


# ---- fleet --------------------------------------------------------------------------------
def _badge(page: Page, prefix: str, value: Any, levels: dict[str, str]) -> dict[str, str] | None:
    if not isinstance(value, str) or not value:
        return None
    key = f"fleet.{prefix}.{value}"
    text = page._(key)
    return {"text": value if text == key else text, "level": levels.get(value, "bad"), "detail": ""}


def clock_badge(page: Page, health: dict[str, Any]) -> dict[str, str] | None:
    """The device's clock as its last heartbeat measured it: OK within ``CLOCK_OK_SECONDS``
    of the server's, else a warning saying how far ahead or behind; "not measured yet" when the
    device has not measured it; None (a dash) when its heartbeat does not say (an older
    version, or no heartbeat yet)."""
    if CLOCK_OFFSET_FIELD not in health:
        return None
    offset = health[CLOCK_OFFSET_FIELD]
    if offset is None or isinstance(offset, bool) or not isinstance(offset, int | float):
        return {"text": page._("fleet.clock.unknown"), "level": "neutral", "detail": ""}
    if clock_right(offset):
        return {"text": page._("fleet.ok"), "level": "ok", "detail": ""}
    # The offset is the server's time minus the device's: positive when the device is behind.
    amount = clock_amount(offset, day=page._("fleet.clock.day"))
    key = "fleet.clock.behind" if offset > 0 else "fleet.clock.ahead"
    return {
        "text": page._(key, amount=amount),
        "level": "warn",
        "detail": page._("fleet.clock.detail"),
    }


def fleet_rows(page: Page, loaded: LoadedSite) -> list[dict[str, Any]]:
    rows = device_rows(page.ctx, loaded.id)
    tz, now = loaded.site.tz, page.ctx.now()
    out = []
    for device_id, row in rows.items():
        health = row.health if isinstance(row.health, dict) else {}
        seen = row.last_seen
        online = None if seen is None else now - seen <= OFFLINE_AFTER_SECONDS
        printer = _badge(page, "printer", health.get("printer"), _PRINTER_LEVEL)
        if printer is not None and isinstance(health.get("printer_detail"), str):
            printer["detail"] = health["printer_detail"]
        buttons = _badge(page, "buttons", health.get("buttons"), _BUTTONS_LEVEL)
        clock = clock_badge(page, health)
        version = health.get("version")
        out.append(
            {
                "id": device_id,
                "role": row.role,
                "revoked": bool(row.revoked),
                "online": online,
                "printer": printer,
                "buttons": buttons,
                "clock": clock,
                "last_sync": format.clock(seen, tz, with_date=True) if seen else None,
                "version": str(version) if version else None,
                "offline_since": format.clock(seen, tz, with_date=True)
                if online is False
                else None,
            }
        )
    return out


@router.get("/admin/{site}/fleet", response_class=HTMLResponse)
def fleet(site: str, page: PageDep) -> Response:
    loaded = admin_site(page, site)
    return page.render(
        "admin_fleet.html",
        section="admin",
        tab="fleet",
        site={"id": loaded.id, "name": loaded.site.name},
        devices=fleet_rows(page, loaded),
        offline_minutes=int(OFFLINE_AFTER_SECONDS // 60),
        clock_seconds=int(CLOCK_OK_SECONDS),
    )
