"""Events exchanged directly between the devices of one site over the local network.

When the central server is unreachable (the town hall's internet link is down), the kiosks and
boards of a site still see each other on the local network. Each device answers its peers on a
small HTTP endpoint and pulls from the peers in its configuration, so a board learns about the
tickets a kiosk printed, and a kiosk about the calls (for its wait estimates), without the
server.

Wire protocol (JSON, under ``/peer/v1``)::

    GET  /peer/v1/events?since=<position>&limit=<n>
         -> {"site", "device", "journal": "<id of the answering journal>",
             "events": [Event, ...], "position": <int>, "more": <bool>}
    POST /peer/v1/events   {"events": [Event, ...]}  -> {"stored": <int>}

``position`` is local to the answering device's journal (``Journal.events_after``): a puller
keeps one per peer, and starts again from 0 when the peer's journal id changes (a replaced SD
card). Pull is what guarantees convergence; a device also pushes its own new events at once
when woken (``wake()``), so a call or a ticket reaches the others within a fraction of a second.

Who uploads what to the server: any device uploads what it knows. Events learnt from a peer
go to the journal and to the outbox (``store_remote(relay=True)``), so the server gets a
ticket a kiosk printed even when only the board reaches it; the server's sync is idempotent by
event id, so an event uploaded by its author and by two relays is stored once. An event a peer
sends that it did not make itself is taken only with its author's signature
(``tickets.signing``); the server checks the same.

Authentication: every request and every answer is signed, HMAC-SHA256 with the sender's peer
key, the sha256 of its device token::

    X-Guichet-Peer: device=<id>; sig=<hex HMAC(key, "guichet-peer-v1" METHOD TARGET sha256(body))>
    X-Guichet-Peer-Reply: device=<id>; sig=<hex HMAC(key, "guichet-peer-reply-v1" request-sig
                                                      STATUS sha256(body))>

The server hands every device of a site its site's keys (``GET /api/v1/sites/{site}/peers``);
they are cached in the journal, so peers keep checking each other while the server is away. A
device must therefore have reached the server once before it can exchange with peers. Tokens
never travel between peers, and a key cannot be used as a token against the server. A replayed
request does no harm: reading is read-only and storing is idempotent by event id.

Exceptions: ``PeerError`` (a peer could not be reached), and its subclass ``PeerRefused`` (it
answered but refused us, or we refused its answer: keys, signature, site, protocol); the
exchange thread logs them and backs off, it never stops.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import requests

from tickets.events import Event, EventError
from tickets.signing import made_by_author, peer_key

if TYPE_CHECKING:
    from tickets.client import SyncClient
    from tickets.journal import Journal

log = logging.getLogger(__name__)

PEER_API = "/peer/v1"
REQUEST_HEADER = "X-Guichet-Peer"
REPLY_HEADER = "X-Guichet-Peer-Reply"
MAX_BODY_BYTES = 4_000_000
MAX_EVENTS = 1000
"""Most events in one answer or one push."""
_KEYS, _JOURNAL_ID, _POSITION = "peer.keys", "peer.journal", "peer.position."


class PeerError(Exception):
    """A peer could not be reached, refused the request, or broke the protocol."""


class PeerRefused(PeerError):
    """The peer answered, but the exchange was refused: keys, signature, site or protocol."""


# ---- keys and signatures --------------------------------------------------------------------
def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def sign_request(key: str, method: str, target: str, body: bytes) -> str:
    msg = "\n".join(("guichet-peer-v1", method.upper(), target, _digest(body)))
    return hmac.new(bytes.fromhex(key), msg.encode(), hashlib.sha256).hexdigest()


def sign_reply(key: str, request_sig: str, status: int, body: bytes) -> str:
    msg = "\n".join(("guichet-peer-reply-v1", request_sig, str(status), _digest(body)))
    return hmac.new(bytes.fromhex(key), msg.encode(), hashlib.sha256).hexdigest()


def header_value(device: str, sig: str) -> str:
    return f"device={device}; sig={sig}"


def parse_header(value: str | None) -> tuple[str, str] | None:
    """(device, signature) from a signature header, None when it is not one."""
    if not value:
        return None
    fields = dict(part.strip().partition("=")[::2] for part in value.split(";") if "=" in part)
    device, sig = fields.get("device", ""), fields.get("sig", "")
    if not device or len(sig) != 64:
        return None
    return device, sig


def _valid_key(key: str) -> bool:
    try:
        return len(bytes.fromhex(key)) == 32
    except ValueError:
        return False


def fetch_peer_keys(client: SyncClient, site: str) -> dict[str, str]:
    """The site's peer keys from the server (device id -> key); raises ``SyncError``."""
    from tickets.client import API, ProtocolError

    answer = client.request("GET", f"{API}/sites/{site}/peers")
    try:
        keys = {str(p["device"]): str(p["key"]) for p in answer["peers"]}
    except (KeyError, TypeError) as exc:
        raise ProtocolError(f"peer keys: malformed answer ({exc!r})") from None
    return {d: k for d, k in keys.items() if _valid_key(k)}


def _wire(events: Iterable[Event]) -> list[dict[str, Any]]:
    """Events as peers exchange them, with the server's seq and reception time when it stored
    them: a copy the server stored is final (its stamp replaces a re-stamp made at receipt),
    and its reception time is a time every device may trust (docs/architecture.md, "Time")."""
    return [e.to_dict() for e in events]


def _parse_events(raw: Any) -> list[Event]:
    if not isinstance(raw, list) or len(raw) > MAX_EVENTS:
        raise EventError(f"events must be a list of at most {MAX_EVENTS}")
    return [Event.from_dict(item) for item in raw]


# ---- one configured peer --------------------------------------------------------------------
@dataclass
class PeerLink:
    url: str
    device: str | None = None
    """The device that answered at this URL (known after the first exchange)."""
    state: str = "never"
    """"never", "ok", "unreachable", "refused" (keys, signature, site or protocol), "no_keys"
    (this device has not received the site's keys yet) or "self" (our own URL)."""
    last_ok: float | None = None
    """Wall time of the last successful exchange (seconds since the epoch)."""
    error: str = ""
    failures: int = 0
    retry_at: float = 0.0
    """Monotonic time before which this peer is not tried again."""
    pushed: int = 0
    """Position in our journal up to which our own events were pushed to this peer."""
    wake: threading.Event = field(default_factory=threading.Event, repr=False)


# ---- the exchange -------------------------------------------------------------------------
class PeerSync:
    """Answers the site's peers and exchanges events with them on one background thread.

    ``keys_source`` fetches the site's keys from the server (``fetch_peer_keys``); ``on_events``
    is called with the events newly stored from peers, on the thread that received them.
    ``start()`` binds the listening socket (``listen``; port 0 picks a free one, see ``url``)
    and starts the thread; ``stop()`` ends both. Every method may be called from any thread.
    """

    def __init__(
        self,
        journal: Journal,
        *,
        token: str,
        listen: tuple[str, int] | None = None,
        peers: Iterable[str] = (),
        interval: float = 2.0,
        timeout: float = 1.0,
        keys_source: Callable[[], dict[str, str]] | None = None,
        keys_interval: float = 600.0,
        on_events: Callable[[list[Event]], object] | None = None,
        session: requests.Session | None = None,
        max_backoff: float = 30.0,
        batch: int = 500,
        rng: random.Random | None = None,
    ) -> None:
        self.journal = journal
        self.device = journal.device
        self.site = journal.site
        self.key = peer_key(token)
        self.listen = listen
        self.links = [PeerLink(u.rstrip("/")) for u in dict.fromkeys(str(p) for p in peers)]
        self.interval = interval
        self.timeout = timeout
        self.keys_source = keys_source
        self.keys_interval = keys_interval
        self.on_events = on_events
        self.session = session if session is not None else requests.Session()
        self._shared_session = session is not None
        self._sessions: dict[str, requests.Session] = {}
        self.max_backoff = max_backoff
        self.batch = max(1, min(batch, MAX_EVENTS))
        self._rng = rng if rng is not None else random.Random()
        self._keys: dict[str, str] = self._load_keys()
        self._keys_due = 0.0
        self.journal_id = journal.meta(_JOURNAL_ID) or ""
        if not self.journal_id:
            self.journal_id = uuid.uuid4().hex
            journal.set_meta(_JOURNAL_ID, self.journal_id)
        # Push only what is made from now on: older events reach the peers by their pulls.
        top = journal.last_position()
        for link in self.links:
            link.pushed = top
        self._forget_old_peers()
        self._httpd: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._started = False
        self._keys_wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.received = 0
        """Events newly stored from peers since start (pulled or pushed to us)."""
        self.refused = 0
        """Events from peers refused since start: not signed by their author."""

    # ---- life ---------------------------------------------------------------------------
    def start(self) -> None:
        """Answers peers (when ``listen`` is set) and starts one exchange thread per peer, so
        a peer that does not answer never delays the others."""
        self.start_server()
        if self._started:
            return
        self._started = True
        loops: list[tuple[Callable[..., None], tuple[Any, ...], str]] = [
            (self._run_keys, (), "guichet-peer-keys")
        ]
        loops += [
            (self._run_link, (link,), f"guichet-peer-{i}") for i, link in enumerate(self.links)
        ]
        for target, args, name in loops:
            t = threading.Thread(target=target, args=args, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def start_server(self) -> None:
        """Only answers peers (the exchange runs when ``run_once`` is called)."""
        if self.listen is None or self._httpd is not None:
            return
        self._httpd = _Server(self.listen, _Handler)
        self._httpd.peer = self
        serve = threading.Thread(
            target=self._httpd.serve_forever, args=(0.2,), name="guichet-peer-http", daemon=True
        )
        serve.start()
        self._threads.append(serve)
        log.info("answering peers on %s", self.url)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._keys_wake.set()
        for link in self.links:
            link.wake.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.close_open()
            self._httpd = None
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()
        self.session.close()
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()

    def wake(self) -> None:
        """Exchange now: a new local event (a ticket, a call) to push to the peers."""
        for link in self.links:
            link.wake.set()

    @property
    def url(self) -> str:
        """Where this device answers its peers ("" when it does not listen)."""
        if self._httpd is None:
            return ""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def status(self) -> dict[str, dict[str, Any]]:
        """Each peer's state for the staff and the health report, by URL."""
        with self._lock:
            return {
                link.url: {
                    "device": link.device,
                    "state": link.state,
                    "last_ok": link.last_ok,
                    "error": link.error,
                }
                for link in self.links
            }

    # ---- keys ---------------------------------------------------------------------------
    def _load_keys(self) -> dict[str, str]:
        raw = self.journal.meta(_KEYS)
        if not raw:
            return {}
        try:
            keys = json.loads(raw)
            return {str(d): str(k) for d, k in keys.items() if _valid_key(str(k))}
        except (ValueError, AttributeError):
            log.error("cached peer keys unreadable; waiting for the server's")
            return {}

    def set_keys(self, keys: dict[str, str]) -> None:
        """The site's peer keys (device id -> key), cached in the journal."""
        keys = {d: k.lower() for d, k in keys.items() if _valid_key(k)}
        with self._lock:
            changed = keys != self._keys
            self._keys = keys
        if changed:
            self.journal.set_meta(_KEYS, json.dumps(keys, sort_keys=True))
            log.info("peer keys of %d devices received", len(keys))

    def has_keys(self) -> bool:
        with self._lock:
            return bool(self._keys)

    def key_of(self, device: str) -> str | None:
        with self._lock:
            return self._keys.get(device)

    def refresh_keys(self) -> bool:
        """Asks the server for the site's keys now; False when it did not answer."""
        if self.keys_source is None:
            return False
        try:
            self.set_keys(self.keys_source())
        except Exception as exc:
            log.debug("peer keys not refreshed: %s", exc)
            return False
        return True

    # ---- the loop -----------------------------------------------------------------------
    def _run_keys(self) -> None:
        while not self._stop.is_set():
            self._keys_wake.clear()
            delay = self._keys_round()
            self._keys_wake.wait(delay)

    def _keys_round(self) -> float:
        """Refreshes the keys when due; returns the seconds until it is due again."""
        if self.keys_source is None:
            return 3600.0
        now = time.monotonic()
        if now >= self._keys_due:
            ok = self.refresh_keys()
            self._keys_due = now + (self.keys_interval if ok else min(self.keys_interval, 30.0))
        return max(0.05, self._keys_due - time.monotonic())

    def _run_link(self, link: PeerLink) -> None:
        while not self._stop.is_set() and link.state != "self":
            link.wake.clear()
            try:
                self._round(link)
            except Exception:  # a bug must not stop the exchange
                log.exception("peer exchange with %s failed", link.url)
            wait = self.interval
            if link.retry_at:
                wait = min(self.interval, max(0.0, link.retry_at - time.monotonic()))
            link.wake.wait(wait)

    def run_once(self) -> None:
        """One round with every peer, one after the other: keys when due, then push and pull
        with each peer not backing off (what the threads do, for tests and tools)."""
        self._keys_round()
        for link in self.links:
            if self._stop.is_set():
                return
            self._round(link)

    def _round(self, link: PeerLink) -> None:
        if link.state == "self" or time.monotonic() < link.retry_at:
            return
        if not self.has_keys():
            # Nothing can be checked before the server has sent the site's keys once.
            if self.keys_source is not None:
                self._keys_wake.set()
            with self._lock:
                if link.state != "no_keys":
                    log.info("peer %s: waiting for the site's peer keys from the server", link.url)
                link.state, link.error = "no_keys", "no peer keys yet (never reached the server)"
            return
        try:
            self._exchange(link)
        except PeerError as exc:
            self._failed(link, exc)

    def _exchange(self, link: PeerLink) -> None:
        self._push(link)
        for _ in range(50):
            if not self._pull(link):
                break
        with self._lock:
            if link.state != "ok":
                log.info("peer %s (%s) reachable", link.url, link.device)
            link.state, link.error, link.failures, link.retry_at = "ok", "", 0, 0.0
            link.last_ok = time.time()

    def _failed(self, link: PeerLink, exc: PeerError) -> None:
        with self._lock:
            if link.state == "self":
                log.info("peer %s is this device: skipped", link.url)
                return
            link.failures += 1
            state = "refused" if isinstance(exc, PeerRefused) else "unreachable"
            if state != link.state or link.failures == 1:
                log.warning("peer %s: %s", link.url, exc)
            link.state, link.error = state, str(exc)
            ceiling = min(self.max_backoff, self.interval * 2 ** min(link.failures - 1, 20))
            link.retry_at = time.monotonic() + ceiling * self._rng.uniform(0.5, 1.0)

    def _push(self, link: PeerLink) -> None:
        while True:
            events, end = self.journal.events_after(link.pushed, self.batch)
            own = [e for e in events if e.device == self.device]
            if own:
                self._call(link, "POST", f"{PEER_API}/events", {"events": _wire(own)})
            link.pushed = end
            if len(events) < self.batch:
                return

    def _pull(self, link: PeerLink) -> bool:
        """Pulls one page; True when the peer has more."""
        saved = self._position(link.url)
        since = saved[1]
        answer = self._call(
            link, "GET", f"{PEER_API}/events?since={since}&limit={self.batch}", None
        )
        try:
            journal_id, position = str(answer["journal"]), int(answer["position"])
            if answer.get("site") != self.site:
                raise PeerRefused(f"peer belongs to site {answer.get('site')!r}, not {self.site!r}")
            events = _parse_events(answer["events"])
            more = bool(answer.get("more"))
        except (KeyError, TypeError, ValueError, EventError) as exc:
            raise PeerRefused(f"answer is not the peer protocol: {exc}") from None
        if journal_id != saved[0] and saved[0]:
            log.warning("peer %s has a new journal: pulling it from the start", link.url)
            self._set_position(link.url, journal_id, 0)
            return True
        self.store(events, link.device or "")
        self._set_position(link.url, journal_id, position)
        return more

    def _forget_old_peers(self) -> None:
        """Drops the pull positions of peers no longer in the configuration."""
        kept = {_POSITION + link.url for link in self.links}
        for key in self.journal.meta_keys(_POSITION):
            if key not in kept:
                self.journal.delete_meta(key)

    def _position(self, url: str) -> tuple[str, int]:
        raw = self.journal.meta(_POSITION + url)
        if not raw:
            return "", 0
        journal_id, _, pos = raw.partition(" ")
        return journal_id, int(pos) if pos.isdigit() else 0

    def _set_position(self, url: str, journal_id: str, position: int) -> None:
        if (journal_id, position) != self._position(url):
            self.journal.set_meta(_POSITION + url, f"{journal_id} {position}")

    def _call(self, link: PeerLink, method: str, target: str, payload: Any) -> Any:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        sig = sign_request(self.key, method, target, body)
        headers = {REQUEST_HEADER: header_value(self.device, sig)}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            r = self._session(link).request(
                method,
                link.url + target,
                data=body or None,
                headers=headers,
                timeout=(self.timeout, self.timeout * 2),
            )
        except requests.RequestException as exc:
            raise PeerError(f"unreachable ({type(exc).__name__})") from None
        who = parse_header(r.headers.get(REPLY_HEADER))
        if who is not None and who[0] == self.device:
            with self._lock:
                link.state = "self"
            raise PeerRefused("this is our own address")
        if who is None:
            raise PeerRefused(f"refused: unsigned answer (HTTP {r.status_code})")
        key = self.key_of(who[0])
        if key is None or not hmac.compare_digest(
            sign_reply(key, sig, r.status_code, r.content), who[1]
        ):
            raise PeerRefused(f"refused: bad answer signature from {who[0]!r}")
        link.device = who[0]
        if r.status_code != 200:
            raise PeerRefused(f"refused by the peer: HTTP {r.status_code} {r.text[:200]}")
        try:
            return r.json()
        except ValueError:
            raise PeerRefused("answer is not JSON") from None

    def _session(self, link: PeerLink) -> requests.Session:
        if self._shared_session:
            return self.session
        with self._lock:
            session = self._sessions.get(link.url)
            if session is None:
                session = self._sessions[link.url] = requests.Session()
            return session

    # ---- what peers send us -------------------------------------------------------------
    def store(self, events: list[Event], sender: str) -> list[Event]:
        """Stores events ``sender`` (a peer whose signature was checked) sent us, to relay to
        the server too (our outbox); tells ``on_events``.

        An event ``sender`` did not make itself is taken only with its author's signature
        (``tickets.signing``): the others are dropped and logged (``refused`` counts them).
        """
        with self._lock:
            keys = dict(self._keys)
        taken = [e for e in events if e.device == sender or made_by_author(e, keys)]
        if len(taken) < len(events):
            bad = [e for e in events if e not in taken]
            with self._lock:
                self.refused += len(bad)
            log.warning(
                "%d event(s) from peer %r refused: not signed by their author (%s)",
                len(bad),
                sender,
                ", ".join(f"{e.id} of {e.device!r}" for e in bad[:5]),
            )
        fresh = self.journal.store_remote(taken, relay=True) if taken else []
        if fresh:
            with self._lock:
                self.received += len(fresh)
            if self.on_events is not None:
                try:
                    self.on_events(fresh)
                except Exception:
                    log.exception("peer events callback failed")
        return fresh


# ---- the endpoint peers call ----------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    peer: PeerSync

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        super().__init__(address, handler)
        self.open: set[Any] = set()
        self.open_lock = threading.Lock()

    def close_open(self) -> None:
        """Ends the kept-alive connections too (``shutdown`` only stops accepting)."""
        with self.open_lock:
            conns, self.open = list(self.open), set()
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("peer connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.open_lock:
            self.server.open.add(self.connection)

    def finish(self) -> None:
        with self.server.open_lock:
            self.server.open.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("peer request from %s: " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        peer = self.server.peer
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._reply(413 if length > 0 else 400, {"message": "bad Content-Length"}, "")
            return
        body = self.rfile.read(length) if length else b""
        who = parse_header(self.headers.get(REQUEST_HEADER))
        if who is None:
            self._reply(401, {"message": f"missing {REQUEST_HEADER} header"}, "")
            return
        device, sig = who
        if device == peer.device:
            self._reply(409, {"message": "that is this device's own address"}, sig)
            return
        key = peer.key_of(device)
        if key is None:
            if peer.has_keys():
                log.warning("peer request from unknown device %r refused", device)
            self._reply(401, {"message": f"unknown device {device!r}"}, sig)
            return
        if not hmac.compare_digest(sign_request(key, method, self.path, body), sig):
            log.warning("peer request claiming to be %r refused: bad signature", device)
            self._reply(401, {"message": "bad signature"}, sig)
            return
        url = urlsplit(self.path)
        if url.path != f"{PEER_API}/events":
            self._reply(404, {"message": f"no such endpoint {url.path!r}"}, sig)
            return
        try:
            if method == "GET":
                self._reply(200, self._events(parse_qs(url.query)), sig)
            else:
                events = _parse_events(json.loads(body).get("events"))
                self._reply(200, {"stored": len(peer.store(events, device))}, sig)
        except (EventError, ValueError, AttributeError) as exc:
            log.warning("peer request from %r refused: %s", device, exc)
            self._reply(400, {"message": str(exc)}, sig)

    def _events(self, query: dict[str, list[str]]) -> dict[str, Any]:
        peer = self.server.peer
        since = int(query.get("since", ["0"])[0])
        limit = max(1, min(int(query.get("limit", ["500"])[0]), MAX_EVENTS))
        if since < 0:
            raise ValueError("since must not be negative")
        events, position = peer.journal.events_after(since, limit)
        more = len(events) == limit and bool(peer.journal.events_after(position, 1)[0])
        return {
            "site": peer.site,
            "device": peer.device,
            "journal": peer.journal_id,
            "events": _wire(events),
            "position": position,
            "more": more,
        }

    def _reply(self, status: int, payload: dict[str, Any], request_sig: str) -> None:
        peer = self.server.peer
        body = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header(
            REPLY_HEADER, header_value(peer.device, sign_reply(peer.key, request_sig, status, body))
        )
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)
