"""Loopback message servers for tests: an SMTP server (aiosmtpd) and an HTTP SMS gateway,
each recording what it received (``Inbox``). The fixtures ``smtp`` and ``gateway`` are in
tests/server/conftest.py and tests/web/conftest.py."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from config.messages import MessageSettings
from tests.conftest import PATIENCE

WAIT_SECONDS = PATIENCE


@dataclass
class Inbox:
    """What a loopback server received, with a wait on the count."""

    items: list[Any] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, item: Any) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait_for(self, count: int) -> list[Any]:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.items) >= count, timeout=WAIT_SECONDS)
        assert ok, f"received {len(self.items)} of {count}"
        return list(self.items)


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.inbox.add((envelope.rcpt_tos, parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(_Handler(inbox), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@dataclass
class Gateway:
    url: str
    inbox: Inbox
    status: list[int]


@contextmanager
def sms_gateway() -> Iterator[Gateway]:
    inbox = Inbox()
    status = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            inbox.add({"auth": self.headers.get("Authorization"), "body": json.loads(body)})
            self.send_response(status[0])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Gateway(f"http://127.0.0.1:{server.server_address[1]}/sms", inbox, status)
    server.shutdown()
    server.server_close()


def settings_for(smtp_port: int, gateway: Gateway, **more: Any) -> MessageSettings:
    """Message settings sending to these loopback servers."""
    return MessageSettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        mail_from="mairie@example.org",
        sms_url=gateway.url,
        sms_token="gw-secret",
        sms_sender="MAIRIE",
        timeout_seconds=10,
        **more,
    )


def text_of(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()
