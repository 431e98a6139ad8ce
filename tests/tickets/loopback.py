"""A small HTTP server on 127.0.0.1 that answers from a script: for the client behaviours the
real server cannot be made to show (no answer, a 500, a connection dropped mid-answer)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


Reply = Callable[["Handler", Seen], None]


def answer(status: int, body: Any, content_type: str = "application/json") -> Reply:
    def reply(h: Handler, _: Seen) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    return reply


def drop() -> Reply:
    """Reads the request, then closes the connection without a word."""

    def reply(h: Handler, _: Seen) -> None:
        h.close_connection = True
        h.connection.close()

    return reply


def hang(release: threading.Event) -> Reply:
    """Never answers (until the test ends)."""

    def reply(h: Handler, _: Seen) -> None:
        release.wait(30)
        h.close_connection = True

    return reply


@dataclass
class Script:
    replies: list[Reply] = field(default_factory=list)
    default: Reply | None = None
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def next(self) -> Reply:
        if self.replies:
            return self.replies.pop(0)
        if self.default is None:
            return answer(599, {"message": "script exhausted"})
        return self.default


class Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        seen = Seen(
            self.command,
            self.path,
            {k: v for k, v in self.headers.items()},
            json.loads(raw) if raw else None,
        )
        self.server.script.seen.append(seen)
        self.server.script.next()(self, seen)

    do_GET = _handle
    do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    script: Script


@contextmanager
def scripted(script: Script) -> Iterator[str]:
    """Serves ``script`` on a free loopback port; yields the base URL."""
    server = _Server(("127.0.0.1", 0), Handler)
    server.script = script
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        script.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def sync_answer(**fields: Any) -> dict[str, Any]:
    """A well-formed sync answer, with ``fields`` changed."""
    body: dict[str, Any] = {
        "acks": [],
        "events": [],
        "cursor": 0,
        "more": False,
        "leases": [],
        "config_version": "v1",
        "config": None,
        "server_time": 1_763_900_000.0,
        "server_hlc": "001763900000000-000000-server",
    }
    body.update(fields)
    return body


def sse(messages: str, hold: threading.Event | None = None) -> Reply:
    """Answers as an event stream (not chunked: the body runs until the connection closes),
    sends ``messages``, then closes, or keeps the connection open until ``hold`` is set."""

    def reply(h: Handler, _: Seen) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(messages.encode())
        h.wfile.flush()
        if hold is not None:
            hold.wait(30)
        h.close_connection = True

    return reply
