"""Hands a change of an appointment to the server's messenger (after it is stored)."""

from __future__ import annotations

from server.appointments.booking import Appointment
from server.appointments.messages import Kind
from server.context import ServerContext
from server.sites import LoadedSite


def announce(ctx: ServerContext, loaded: LoadedSite, appt: Appointment, kind: Kind) -> None:
    if ctx.messages is not None:
        ctx.messages.tell(loaded, appt, kind)
