"""The kiosk's screens: one module and one .kv file per screen, loaded by the app."""

from __future__ import annotations

from pathlib import Path

from kivy.uix.screenmanager import Screen

from kiosk.screens.booking import BookingScreen
from kiosk.screens.checkin import CheckInScreen
from kiosk.screens.idle import IdleScreen
from kiosk.screens.longwait import LongWaitScreen
from kiosk.screens.priority import PriorityScreen
from kiosk.screens.services import ServicesScreen
from kiosk.screens.ticket import TicketScreen

_HERE = Path(__file__).resolve().parent
SCREENS: tuple[type[Screen], ...] = (
    IdleScreen,
    ServicesScreen,
    PriorityScreen,
    LongWaitScreen,
    TicketScreen,
    CheckInScreen,
    BookingScreen,
)
KV_FILES = tuple(
    _HERE / f"{name}.kv"
    for name in (
        "common",
        "idle",
        "services",
        "priority",
        "longwait",
        "ticket",
        "checkin",
        "booking",
    )
)
