"""Who made an event: its author's signature, so any device may relay it.

A device signs each event it makes with its key (HMAC-SHA256; the key is the sha256 of the
device's token, which the server stores and hands to the site's devices: ``tickets.peer``).
The server signs the events it makes itself (an agent's action in the console, a press a board
forwarded, a ticket it issues) with its site key, published to the site's devices with the
device keys under the name :data:`SERVER_SIGNER`.

So an event learnt from anyone (a LAN peer that relays what it heard from a kiosk, a device
uploading what it learnt from its peers) is accepted only if its author made it: its signature
checks with the key of the device it names, or with the server's key. Every device of a site
knows every key of the site, so this protects against a device or a peer that mislabels,
alters or invents an event (a bug, a corrupted journal, a program that is not a device of the
site), not against a device of the site that chooses to forge: it holds the keys anyway.

The signed message is the event's content, canonical JSON of its id, site, device, kind,
clock (its author's, when a receiver re-stamped it), wall time and payload; the server's
sequence number and reception time are not part of it (they are added later, by the server).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import replace

from tickets.events import Event

SERVER_SIGNER = "@server"
"""The name of the server's site key among the device keys (never a device id)."""
_CONTEXT = "guichet-event-v1"


def peer_key(token: str) -> str:
    """A device's key (hex): the sha256 of its token, as the server stores it."""
    return hashlib.sha256(token.encode()).hexdigest()


def server_site_key(secret: str, site: str) -> str:
    """The server's key for one site's events (hex), from a secret only the server holds."""
    msg = f"guichet-event-server-v1\n{site}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def _message(e: Event) -> bytes:
    e = e.authored  # a receiver's re-stamp is not the author's (docs/architecture.md, "Time")
    # The author's own stamp: a receiver that re-stamps an event keeps it (``original_hlc``).
    stamp = (e.original_hlc or e.hlc).encode()
    body = [e.id, e.site, e.device, e.kind.value, stamp, float(e.wall_time), e.data]
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return f"{_CONTEXT}\n{text}".encode()


def signature(key: str, e: Event) -> str:
    """The signature (hex) of ``e`` with ``key`` (hex)."""
    return hmac.new(bytes.fromhex(key), _message(e), hashlib.sha256).hexdigest()


def signed(e: Event, key: str) -> Event:
    """``e`` carrying its signature with ``key``."""
    return replace(e, sig=signature(key, e))


def signer(e: Event, keys: Mapping[str, str]) -> str | None:
    """Who signed ``e``: the device it names, or :data:`SERVER_SIGNER`; None when neither
    did (unsigned, altered, or signed by someone else). ``keys``: device id (or
    :data:`SERVER_SIGNER`) -> key."""
    if not e.sig:
        return None
    for name in (e.device, SERVER_SIGNER):
        key = keys.get(name)
        if key and hmac.compare_digest(signature(key, e), e.sig):
            return name
    return None


def made_by_author(e: Event, keys: Mapping[str, str]) -> bool:
    """Whether ``e`` carries a signature of the device it names, or of the server."""
    return signer(e, keys) is not None
