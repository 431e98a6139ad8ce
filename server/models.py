"""Request and response bodies of the HTTP API (pydantic): the OpenAPI is generated from them.

Every identifier that reaches a query is checked against a pattern first, every number is
bounded and every float finite, so nothing a client sends can make the database refuse a
value (a 500) instead of the API refusing the request (a 4xx).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tickets.events import EventKind
from tickets.queue import TicketStatus

IDENT = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
HLC_RE = r"^[0-9]{15}-[0-9]{6}-[!-~]{1,63}$"
TOKEN_RE = r"^[A-Za-z0-9_-]{16,128}$"
SIG_RE = r"^[0-9a-f]{64}$"
AUTHOR_RE = r"^([a-z0-9][a-z0-9_.-]{0,62}|agent:[^:]{1,64})$"
MAX_SEQ = 2**53

Ident = Annotated[str, Field(pattern=IDENT, max_length=63)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class EventIn(_In):
    """An event as a device uploads it (``tickets.events.Event.to_dict``)."""

    id: str = Field(pattern=UUID_RE, description="UUID chosen by the device (lower case).")
    site: Ident
    device: str = Field(
        pattern=AUTHOR_RE,
        max_length=70,
        description="Its author: a device id, or agent:<username> for an agent's action made "
        "through the server (relayed by a device).",
    )
    kind: EventKind
    hlc: str = Field(pattern=HLC_RE, max_length=96, description="Hybrid logical clock value.")
    wall_time: Finite = Field(ge=0, le=1e11, description="Device wall clock (epoch seconds).")
    data: dict[str, Any] = Field(description="Payload; fields depend on the kind.")
    original_hlc: str | None = Field(
        default=None,
        pattern=HLC_RE,
        max_length=96,
        description="The author's stamp of an event a device re-stamped at receipt (a copy "
        "learnt from a peer): the server reads the event with this stamp.",
    )
    seq: int | None = Field(default=None, ge=0, le=MAX_SEQ, description="Ignored on upload.")
    received_at: Finite | None = Field(default=None, description="Ignored on upload.")
    sig: str | None = Field(
        default=None,
        pattern=SIG_RE,
        description="Its author's signature (hex HMAC-SHA256 with the author device's key); "
        "required for an event the calling device did not make itself (a relay).",
    )


class EventOut(BaseModel):
    """A stored event, with its per-site sequence number and reception time."""

    id: str
    site: str
    device: str
    kind: EventKind
    hlc: str
    wall_time: float
    data: dict[str, Any]
    seq: int
    received_at: float
    original_hlc: str | None = Field(
        default=None,
        description="Present when the server re-stamped the event at receipt: the stamp its "
        "author gave it, which could not be a time (``hlc`` is where it stands).",
    )
    sig: str | None = Field(
        default=None, description="Its author's signature; null for events stored unsigned."
    )


class LeaseRequest(_In):
    service: Ident
    day: date = Field(description="Site-local day the numbers are for (ISO date).")
    request: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="The device's id for this request, the same until it holds the block: "
        "a request the server already granted (its answer was lost) gets the same block.",
    )


class LeaseOut(BaseModel):
    service: str
    day: date
    start: int
    end: int = Field(description="Inclusive.")
    request: str | None = Field(default=None, description="The request's id, when it had one.")


MAX_CLOCK_OFFSET = 1e11
"""The largest clock offset a health report may carry (seconds, either way)."""


def _known_health_fields(health: dict[str, Any]) -> dict[str, Any]:
    offset = health.get("clock_offset_seconds")
    if offset is not None and (
        isinstance(offset, bool)
        or not isinstance(offset, int | float)
        or not abs(offset) <= MAX_CLOCK_OFFSET
    ):
        raise ValueError(
            f"clock_offset_seconds must be a number of seconds within {MAX_CLOCK_OFFSET:g} "
            "either way, or null"
        )
    return health


DeviceHealth = Annotated[
    dict[str, Any],
    AfterValidator(_known_health_fields),
    Field(
        json_schema_extra={
            "properties": {
                "clock_offset_seconds": {
                    "anyOf": [
                        {
                            "type": "number",
                            "minimum": -MAX_CLOCK_OFFSET,
                            "maximum": MAX_CLOCK_OFFSET,
                        },
                        {"type": "null"},
                    ],
                    "description": "The server's time minus the device's wall clock as "
                    "measured at its last sync (seconds; positive: the device's clock is "
                    "behind); 0 for a right clock, null when not measured yet.",
                }
            }
        }
    ),
]
"""A device's health report (``tickets.heartbeat``): a JSON object the server stores whole;
the fields it reads are checked."""


class SyncRequest(_In):
    device: Ident = Field(description="The calling device's id (must match its token).")
    cursor: int = Field(default=0, ge=0, le=MAX_SEQ, description="Last seq the device has.")
    events: list[EventIn] = Field(default_factory=list, max_length=10_000)
    lease_requests: list[LeaseRequest] = Field(default_factory=list, max_length=50)
    config_version: str = Field(default="", max_length=64)
    health: DeviceHealth | None = Field(
        default=None,
        description="Device health (at most 8 KB as JSON): free-form, but for the fields "
        "described here, which the fleet page reads.",
    )
    limit: int = Field(default=1000, ge=1, le=5000, description="Most events returned.")
    device_time: Finite | None = Field(
        default=None,
        ge=0,
        le=1e11,
        description="The device's wall clock as it sends the request (epoch seconds): the "
        "server measures the clock's error from it and corrects the uploaded events' times "
        "(statistics). Without it the events' clock stands for their time.",
    )


class SyncResponse(BaseModel):
    acks: list[str]
    events: list[EventOut]
    cursor: int
    more: bool
    leases: list[LeaseOut]
    config_version: str
    config: dict[str, Any] | None = Field(description="SiteConfig JSON when versions differ.")
    server_time: float = Field(
        description="The server's wall clock (epoch seconds): devices correct theirs with it."
    )
    server_hlc: str


class TicketView(BaseModel):
    id: str
    label: str
    number: int
    service: str
    status: TicketStatus
    day: str
    priority: str | None
    counter: str | None
    issued_at: float
    called_at: float | None
    finished_at: float | None
    recalls: int
    transfers: int
    conflict: bool
    misdated: bool = Field(
        default=False,
        description="Numbered for another day than the one it was issued on (its kiosk's "
        "clock was wrong): it belongs to ``day``, the day it was issued on.",
    )
    people_ahead: int | None = None
    estimated_wait_seconds: float | None = None
    appointment_at: float | None = Field(
        default=None, description="A checked-in appointment's time (epoch seconds); else null."
    )
    note: str = Field(default="", description="Reception's note for the counter agent.")


class ActionResult(BaseModel):
    ticket: TicketView | None
    events: list[EventOut]
    issued: EventOut | None = Field(
        default=None,
        description="The TicketIssued event of the ticket the action called (next), so that a "
        "board which has not pulled that ticket yet can show and announce the call; else null.",
    )


class NextPreview(BaseModel):
    """Who a counter would call now; nothing was called."""

    site: str
    counter: str
    day: str = Field(description="The service day whose tickets the counter calls.")
    priority_rule: str = Field(
        description="The site's calling rule: across_services or within_service."
    )
    current: TicketView | None = Field(description="The ticket the counter holds now, if any.")
    next: TicketView | None = Field(description="The ticket a NEXT would call; null: nobody.")


class ActionRequest(_In):
    """What a board sends with a button press (optional: the agents' console sends none)."""

    press: str | None = Field(
        default=None,
        pattern=UUID_RE,
        description="Id of the button press (a UUID chosen by the board). The server acts on a "
        "press once: a press already decided (here, or by the board whose own decision for it "
        "was uploaded) is answered with that decision, and nothing new is made.",
    )
    budget_seconds: Finite | None = Field(
        default=None,
        gt=0,
        le=60,
        description="How long the server may take to act, counted from when it received the "
        "request (seconds). Past it nothing is made and the answer is 409 press_expired: the "
        "board has stopped waiting and decides the press itself.",
    )


class TransferRequest(ActionRequest):
    service: Ident


class IssueRequest(_In):
    service: Ident
    priority: str | None = Field(default=None, max_length=32)
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")


class IssuedTicket(BaseModel):
    ticket: TicketView
    token: str = Field(description="Secret of the follow-my-ticket page.")
    events: list[EventOut]


class ServiceQueue(BaseModel):
    id: str
    prefix: str
    names: dict[str, str]
    waiting: int
    estimated_wait_seconds: float
    open_now: bool
    open_counters: list[str]


class CounterView(BaseModel):
    id: str
    label: str
    services: list[str]
    open: bool
    ticket: TicketView | None


class CallView(BaseModel):
    ticket: str
    label: str
    service: str
    counter: str
    at: float
    recall: bool
    event: str


class ConflictView(BaseModel):
    kind: str = Field(
        description=(
            "double_call, double_decision, finished_elsewhere, duplicate_number"
            " or duplicate_checkin."
        )
    )
    ticket: str
    label: str
    kept_counter: str
    other_counter: str
    event: str = Field(description="Id of the event that lost.")


class QueueSnapshot(BaseModel):
    site: str
    day: str
    cursor: int
    services: list[ServiceQueue]
    counters: list[CounterView]
    waiting: list[TicketView]
    last_calls: list[CallView]
    conflicts: list[ConflictView]


class ConflictList(BaseModel):
    site: str
    conflicts: list[ConflictView]


class PublicService(BaseModel):
    id: str
    prefix: str
    names: dict[str, str]
    waiting: int
    estimated_wait_seconds: float
    open_now: bool


class PublicWait(BaseModel):
    site: str
    name: str
    server_time: float
    services: list[PublicService]


class IndicatorFigures(BaseModel):
    """Waiting figures of a month, per passage (docs/statistics.md)."""

    passages: int = Field(description="Visits to the service's queue (transfers in included).")
    waits: int = Field(description="Waits measured (visitors called).")
    waiting_p50_seconds: float | None = Field(description="Median wait.")
    waiting_p90_seconds: float | None = Field(description="90th-percentile wait.")
    share_waited_15_min: float | None = Field(description="Share of waits of 15 min or less.")
    appointments: int = Field(
        default=0, description="Checked-in appointments (not checked in late) of the month."
    )
    appointment_delay_p50_seconds: float | None = Field(
        default=None,
        description="Median of (first call - appointment time, 0 when called early) over the "
        "appointments called.",
    )
    appointment_on_time_share: float | None = Field(
        default=None,
        description="Share of the appointments called no later than 5 minutes after their time.",
    )


class ServiceIndicators(IndicatorFigures):
    id: str
    names: dict[str, str]
    satisfaction_answers: int = Field(
        default=0, description='Answers to "How was your visit?" for the month\'s tickets.'
    )
    satisfaction_good_share: float | None = Field(
        default=None, description='Share of those answers "good" (0 to 1); null: no answer.'
    )


class HourIndicator(BaseModel):
    hour: int = Field(description="Site-local hour of the day (9: from 9:00 to 10:00).")
    arrivals: int = Field(description="Tickets issued in that hour over the month.")
    arrivals_per_day: float = Field(description="arrivals / days_open.")


class PublicIndicators(BaseModel):
    """A site's service commitments for one month: what a town publishes."""

    site: str
    name: str
    month: str = Field(description="YYYY-MM, site-local.")
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    days_open: int = Field(description="Days of the month with at least one ticket.")
    tickets: int = Field(description="Tickets issued (each visitor once).")
    site_figures: IndicatorFigures = Field(alias="whole_site")
    services: list[ServiceIndicators]
    busiest_hours: list[HourIndicator] = Field(description="Up to 3, busiest first.")
    quietest_hours: list[HourIndicator] = Field(
        description="Up to 3 of the opening hours, quietest first."
    )

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class LateNotice(BaseModel):
    """A checked-in appointment told it runs late (docs/appointments.md "Running late")."""

    appointment_at: float = Field(description="The appointment's time (epoch seconds).")
    expected_start_at: float = Field(
        description="When it is expected to be called now (epoch seconds): "
        "max(its time, now + the wait estimate of the appointments ahead of it)."
    )
    minutes_late: int = Field(description="expected_start_at - appointment_at, in minutes.")
    told_at: float = Field(description="When the person was told (epoch seconds).")
    choice: Literal["wait", "rebook"] | None = Field(
        description="What the person chose: keep waiting, or another slot; null: not yet."
    )


class StepOutState(BaseModel):
    """A walk-in's request to be told when few people are ahead (never the contact)."""

    ahead_threshold: int = Field(
        description="Told when this many people or fewer are ahead (the site's setting)."
    )
    channel: Literal["email", "sms"] | None = Field(
        description="How they will be told; null when no contact is left (or once told: the "
        "contact is erased as the message goes)."
    )
    notified: bool = Field(description="The one message was sent.")


class PublicTicket(BaseModel):
    label: str
    service: str
    service_names: dict[str, str]
    status: TicketStatus
    day: str
    people_ahead: int
    estimated_wait_seconds: float | None
    counter: str | None
    counter_label: str | None
    priority: bool = False
    """The ticket is a priority ticket (the reason is never published)."""
    recalls: int = 0
    """How many times the ticket was called again since its current call."""
    transferred_from: str | None = None
    """The service the ticket was first issued for, when it was transferred since."""
    transferred_from_names: dict[str, str] | None = None
    appointment_at: float | None = None
    """The appointment's time when the ticket is a checked-in appointment (epoch seconds)."""
    late: LateNotice | None = None
    """Set once the appointment was told it runs late, while the ticket waits."""
    step_out: StepOutState | None = None
    """For a waiting walk-in: whether they left a contact to be told their turn is near."""


class Figures(BaseModel):
    """The figures of a set of passages (docs/statistics.md defines each)."""

    tickets: int = Field(
        description="Tickets issued: for a service, issued for it; for the site, all "
        "(distinct tickets)."
    )
    passages: int = Field(
        description="Stays in a queue: tickets issued for the service plus those transferred "
        "or reactivated into it; for the site, the sum over services."
    )
    transferred_in: int = Field(description="Passages that joined by a transfer.")
    transferred_out: int = Field(description="Passages that left by a transfer.")
    called: int = Field(
        description="Passages called (service); distinct tickets called at least once (site)."
    )
    never_called: int = Field(
        description="Passages that left or are still waiting without a call (service); "
        "distinct tickets never called (site)."
    )
    served: int = Field(description="Passages served (service); distinct tickets served (site).")
    no_shows: int = Field(
        description="Passages ended as no-show (service); distinct tickets whose final state "
        "is no-show (site)."
    )
    cancelled: int = Field(
        description="Passages cancelled (service); distinct tickets cancelled (site)."
    )
    waits: int = Field(description="Waiting times measured: called passages.")
    waiting_p50_seconds: float | None = Field(description="Median wait, per passage.")
    waiting_p90_seconds: float | None = Field(description="90th percentile wait, per passage.")
    share_waited_15_min: float | None = Field(
        description="Share of waits of 900 s or less (0 to 1)."
    )
    mean_service_seconds: float | None = Field(
        description="Mean of call to end over passages served or transferred on after a call."
    )


class ServiceDayStats(Figures):
    day: date
    service: str


class SiteDayStats(Figures):
    day: date


class ServiceStats(Figures):
    service: str


class HourStats(BaseModel):
    """One site-local hour of the day (0-23) over the whole period, for one service (or for the
    site when ``service`` is null)."""

    hour: int
    service: str | None
    arrivals: int = Field(description="Passages that joined a queue in this hour.")
    calls: int = Field(description="Passages first called in this hour (recalls not counted).")
    waits: int = Field(description="Called passages that joined in this hour.")
    waiting_p50_seconds: float | None = Field(description="Median wait of those passages.")
    waiting_p90_seconds: float | None = Field(description="90th percentile of those waits.")
    share_waited_15_min: float | None = Field(description="Share of those waits <= 900 s.")


class HourArrivals(BaseModel):
    hour: int
    tickets: int
    by_service: dict[str, int]


class SiteStats(BaseModel):
    site: str
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    total: Figures = Field(description="The whole site over the whole period.")
    services: list[ServiceStats] = Field(description="Each service over the whole period.")
    days: list[ServiceDayStats] = Field(description="Each service on each day.")
    site_days: list[SiteDayStats] = Field(description="The whole site on each day.")
    hours: list[HourStats] = Field(
        description="Per site-local hour of the day, per service and for the site (null)."
    )
    arrivals_by_hour: list[HourArrivals] = Field(
        description="Tickets issued per site-local hour (by the service issued for)."
    )

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class PassageView(BaseModel):
    """One passage of a ticket through one service's queue (docs/statistics.md); times are
    ISO 8601, site-local with the offset, corrected for the device's clock error."""

    day: date = Field(description="The ticket's day (its number's).")
    ticket: str = Field(description="Printed number, e.g. A042.")
    ticket_id: str
    passage: int = Field(description="1 for the service issued for, 2 after a first transfer...")
    service: str = Field(description="The service of this passage.")
    issued_for: str = Field(description="The service the ticket was issued for.")
    priority: str | None
    joined_by: str = Field(description="issue, transfer or reactivation.")
    issued_at: str
    joined_at: str
    first_called_at: str | None
    last_called_at: str | None = Field(description="The last call or recall.")
    recalls: int
    counter: str | None
    transferred_at: str | None = Field(description="When it was sent on to another service.")
    ended_at: str | None
    outcome: str = Field(description="waiting, called, served, no_show, cancelled or transferred.")
    final_status: str = Field(description="The ticket's state at the end of the period read.")
    waited_seconds: int | None = Field(description="first_called_at - joined_at.")
    service_seconds: int | None = Field(
        description="ended_at - first_called_at, for a passage served or transferred on."
    )
    device: str = Field(description="The device that issued the ticket.")
    conflict: bool


class PassageList(BaseModel):
    site: str
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    passages: list[PassageView]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    schema_version: int
