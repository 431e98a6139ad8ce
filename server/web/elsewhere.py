"""The "same service elsewhere" section of the public pages (the wait page and the booking
pages): the other sites of this server offering a service, their wait now and their first
free appointment slot (``server.elsewhere``, the JSON the kiosk reads)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from server import elsewhere
from server.web import format
from server.web.dates import when
from server.web.page import Page


def elsewhere_section(page: Page, site: str, services: Iterable[str]) -> list[dict[str, Any]]:
    """Per service of ``site`` offered elsewhere too: its name and the other sites, in the
    page's language (services offered nowhere else are left out)."""
    ctx = page.ctx
    query = urlencode({"lang": page.lang})
    booking_query = page.query()  # a framed booking page stays framed
    shown = []
    for service in services:
        found = elsewhere.elsewhere(ctx, site, service)
        if not found.sites:
            continue
        loaded = ctx.sites.get_by_engine(ctx.engine, site)
        svc = loaded.site.service(service) if loaded else None
        rows = []
        for other in found.sites:
            other_site = ctx.sites.get_by_engine(ctx.engine, other.site)
            if other.estimated_wait_seconds is None:
                wait = page._("elsewhere.closed")
            elif other.waiting:
                estimate = format.estimate(other.estimated_wait_seconds, page.durations)
                wait = page._("elsewhere.wait", wait=estimate)
            else:
                wait = page._("elsewhere.wait", wait=page._("wait.none"))
            slot = None
            if other.booking_path is not None:
                slot = (
                    page._("elsewhere.slot", when=when(page, other_site, other.next_slot))
                    if other.next_slot is not None and other_site is not None
                    else page._("elsewhere.no_slot")
                )
            rows.append(
                {
                    "name": other.name,
                    "wait": wait,
                    "slot": slot,
                    "wait_url": f"{other.wait_path}?{query}",
                    "book_url": f"{other.booking_path}?{booking_query}"
                    if other.booking_path
                    else None,
                }
            )
        shown.append(
            {"id": service, "name": svc.name(page.lang) if svc else service, "sites": rows}
        )
    return shown
