"""Request and response bodies of the appointment endpoints (in the OpenAPI)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.models import Ident, IssuedTicket, _In

EMAIL_RE = r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$"
PHONE_RE = r"^\+?[0-9][0-9 .-]{5,19}$"
CODE_RE = r"^[A-Za-z0-9 -]{4,16}$"
MAX_START = 10**11


class SlotOut(BaseModel):
    start: int = Field(description="When the slot starts (epoch seconds).")
    local: str = Field(description="The same, site-local, ISO 8601 with its UTC offset.")
    free: int = Field(description="Places still free at this time.")


class SlotList(BaseModel):
    site: str
    service: str
    duration_minutes: int
    slots: list[SlotOut]


class Booker(_In):
    """Who books: every field optional (only what the messages need)."""

    name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, pattern=EMAIL_RE, max_length=254)
    phone: str | None = Field(default=None, pattern=PHONE_RE)
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")


class BookRequest(Booker):
    service: Ident
    start: int = Field(ge=0, le=MAX_START, description="The slot's start (epoch seconds).")


class MoveRequest(_In):
    start: int = Field(ge=0, le=MAX_START, description="The new slot's start (epoch seconds).")


class AppointmentOut(BaseModel):
    site: str
    site_name: str
    service: str
    service_names: dict[str, str]
    start: int = Field(description="Epoch seconds.")
    local: str = Field(description="Site-local start, ISO 8601 with its UTC offset.")
    duration_minutes: int
    status: str = Field(description="booked, cancelled or checked_in.")
    code: str = Field(description="Short code (to type at the kiosk or on the public pages).")
    token: str = Field(description="Secret of the manage link (/a/{token}).")
    lang: str


class StaffAppointment(AppointmentOut):
    """What staff and devices see: also the contact and the note."""

    id: str
    name: str | None
    email: str | None
    phone: str | None
    note: str
    ticket: str | None
    channel: str


class DayAppointments(BaseModel):
    site: str
    day: str
    appointments: list[StaffAppointment]


class CheckInRequest(_In):
    code: str = Field(pattern=CODE_RE, description="The appointment's short code.")
    note: str | None = Field(default=None, max_length=200, description="For the counter agent.")


class CheckedIn(IssuedTicket):
    appointment: StaffAppointment


class Person(_In):
    """One person, by what they booked with (at least one of the two)."""

    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, pattern=PHONE_RE)


class PersonalData(BaseModel):
    site: str
    appointments: list[StaffAppointment]


class Erased(BaseModel):
    site: str
    erased: int = Field(description="Appointments whose personal data was erased.")
