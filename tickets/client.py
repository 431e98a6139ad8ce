"""Single calls to the central server on behalf of one device (``POST /api/v1/sync``, counter
actions, the queue), over an injectable ``requests.Session``.

The exceptions and their hierarchy are described in ``tickets.sync``, which re-exports all of
this module's public names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import requests

from tickets.events import Event, EventError
from tickets.hlc import Timestamp
from tickets.numbering import Lease

log = logging.getLogger(__name__)

API = "/api/v1"
COUNTER_ACTIONS = frozenset({"next", "recall", "done", "no-show", "transfer", "open", "close"})
SYNC_READ_FACTOR = 5.0
"""A sync may carry a thousand events each way: it gets this many times the timeout to answer."""


# ---- errors -------------------------------------------------------------------------------
class SyncError(Exception):
    """Anything that kept a call to the server from succeeding."""


class TransportError(SyncError):
    """No answer from the server."""


class ConnectError(TransportError):
    pass


class RequestTimeout(TransportError):
    pass


class ConnectionDropped(TransportError):
    pass


class ProtocolError(SyncError):
    """The server answered something that is not what the API promises."""


class HTTPStatusError(SyncError):
    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str = "",
        event: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.event = event
        self.field = field


class AuthError(HTTPStatusError):
    pass


class RequestRejected(HTTPStatusError):
    pass


class ServerError(HTTPStatusError):
    pass


# ---- the client ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SyncResult:
    acks: list[str]
    events: list[Event]
    cursor: int
    more: bool
    leases: list[Lease]
    config_version: str
    config: dict[str, Any] | None
    server_time: float | None
    server_hlc: Timestamp | None
    unreadable: list[str] = field(default_factory=list)
    """Events in the answer this program cannot read (a newer server?): skipped, logged."""


class SyncClient:
    """Calls to the server on behalf of one device. Safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        token: str,
        device: str,
        session: requests.Session | None = None,
        timeout: float = 2.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.device = device
        self.session = session if session is not None else requests.Session()
        self.timeout = timeout

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> Any:
        """One call; returns the decoded JSON answer or raises a ``SyncError``."""
        url = self.base_url + path
        try:
            response = self.session.request(
                method,
                url,
                json=json,
                headers=self.headers,
                timeout=timeout if timeout is not None else self.timeout,
            )
        except requests.ConnectTimeout as exc:
            raise ConnectError(f"{url}: no connection within the timeout ({exc})") from exc
        except requests.Timeout as exc:
            raise RequestTimeout(f"{url}: no answer within the timeout") from exc
        except requests.ConnectionError as exc:
            if _dropped(exc):
                raise ConnectionDropped(f"{url}: connection dropped ({exc})") from exc
            raise ConnectError(f"{url}: cannot connect ({exc})") from exc
        except requests.RequestException as exc:
            raise TransportError(f"{url}: {exc}") from exc
        if response.status_code >= 400:
            raise status_error(response)
        try:
            return response.json()
        except ValueError:
            raise ProtocolError(f"{url}: answer is not JSON") from None

    def sync(
        self,
        cursor: int,
        events: list[Event],
        lease_requests: list[dict[str, str]],
        config_version: str,
        health: dict[str, Any] | None = None,
        limit: int = 1000,
        *,
        device_time: float | None = None,
    ) -> SyncResult:
        """Uploads ``events``, downloads up to ``limit`` events after ``cursor``.

        ``device_time`` is the machine's wall clock as the request leaves (the clock the events'
        ``wall_time`` was read from): the server measures the clock's error from it and
        corrects the times of the uploaded events."""
        body: dict[str, Any] = {
            "device": self.device,
            "cursor": cursor,
            "events": [e.to_dict() for e in events],
            "lease_requests": lease_requests,
            "config_version": config_version,
            "health": health,
            "limit": limit,
        }
        if device_time is not None:
            body["device_time"] = device_time
        answer = self.request(
            "POST",
            f"{API}/sync",
            json=body,
            timeout=(self.timeout, self.timeout * SYNC_READ_FACTOR),
        )
        return parse_sync(answer)

    def counter_action(
        self,
        site: str,
        counter: str,
        action: str,
        service: str | None = None,
        *,
        press: str | None = None,
        budget: float | None = None,
    ) -> dict[str, Any]:
        """A counter's button: next, recall, done, no-show, transfer (to ``service``), open,
        close. Returns ``{"ticket": TicketView | None, "events": [Event JSON, ...], "issued":
        Event JSON | None}``.

        ``press`` is the press's id (a UUID): the server acts on it once. ``budget`` is how
        long the server may take to act (seconds): past it, it makes nothing and answers 409
        ``press_expired`` (a ``RequestRejected``)."""
        if action not in COUNTER_ACTIONS:
            raise ValueError(f"unknown counter action {action!r}")
        if action == "transfer" and not service:
            raise ValueError("a transfer needs the service to transfer to")
        body: dict[str, Any] = {"service": service} if action == "transfer" else {}
        if press is not None:
            body["press"] = press
        if budget is not None:
            body["budget_seconds"] = budget
        answer = self.request(
            "POST", f"{API}/sites/{site}/counters/{counter}/{action}", json=body or None
        )
        if not isinstance(answer, dict):
            raise ProtocolError("counter action: answer is not a JSON object")
        return answer

    def queue(self, site: str) -> dict[str, Any]:
        """The site's queue now, as the server sees it."""
        answer = self.request("GET", f"{API}/sites/{site}/queue")
        if not isinstance(answer, dict):
            raise ProtocolError("queue: answer is not a JSON object")
        return answer


def _dropped(exc: requests.ConnectionError) -> bool:
    """True when the connection broke after it was made (reset, closed mid-answer)."""
    text = repr(exc)
    return (
        any(
            word in text
            for word in (
                "RemoteDisconnected",
                "ProtocolError",
                "Connection reset",
                "IncompleteRead",
                "BadStatusLine",
            )
        )
        and "NewConnectionError" not in text
    )


def status_error(response: requests.Response) -> HTTPStatusError:
    status = response.status_code
    message, code, event, where = response.reason or "error", "", None, None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("detail") or message)
        code = str(body.get("code") or "")
        event = body.get("event") if isinstance(body.get("event"), str) else None
        where = body.get("field") if isinstance(body.get("field"), str) else None
    if status >= 500:
        cls: type[HTTPStatusError] = ServerError
    elif status == 401 or (status == 403 and event is None):
        cls = AuthError
    else:
        cls = RequestRejected
    return cls(status, message, code=code, event=event, field=where)


def parse_sync(answer: Any) -> SyncResult:
    """Checks and converts a sync answer (``ProtocolError`` when it is not one)."""
    if not isinstance(answer, dict):
        raise ProtocolError("sync: answer is not a JSON object")
    try:
        acks = [str(a) for a in answer["acks"]]
        cursor = answer["cursor"]
        if not isinstance(cursor, int) or isinstance(cursor, bool) or cursor < 0:
            raise ProtocolError(f"sync: cursor {cursor!r} is not a sequence number")
        leases = [
            Lease(str(x["service"]), str(x["day"]), int(x["start"]), int(x["end"]))
            for x in answer.get("leases") or []
        ]
        config = answer.get("config")
        if config is not None and not isinstance(config, dict):
            raise ProtocolError("sync: config is not a JSON object")
        hlc = answer.get("server_hlc")
        server_hlc = Timestamp.decode(hlc) if isinstance(hlc, str) and hlc else None
        server_time = answer.get("server_time")
        raw_events = answer["events"]
        if not isinstance(raw_events, list):
            raise ProtocolError("sync: events is not a list")
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"sync: malformed answer ({exc!r})") from None
    events, unreadable = [], []
    for raw in raw_events:
        try:
            events.append(Event.from_dict(raw))
        except EventError as exc:
            log.warning("event from the server skipped: %s", exc)
            unreadable.append(str(exc))
    return SyncResult(
        acks=acks,
        events=events,
        cursor=cursor,
        more=bool(answer.get("more")),
        leases=leases,
        config_version=str(answer.get("config_version") or ""),
        config=config,
        server_time=float(server_time) if isinstance(server_time, int | float) else None,
        server_hlc=server_hlc,
        unreadable=unreadable,
    )
