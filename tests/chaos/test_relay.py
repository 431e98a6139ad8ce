"""The relay the simulator cuts links with: it passes bytes, resets like a host that is down,
or drops everything like a pulled cable, and follows a target that moves."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from guichet.sim.proxy import Relay


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(1024):
            self.request.sendall(data)


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield "127.0.0.1", int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _talk(port: int, timeout: float = 2.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"ping")
        return s.recv(16)


def test_pass_relays_and_reset_refuses(echo: tuple[str, int]) -> None:
    with Relay(echo, "t") as relay:
        assert _talk(relay.port) == b"ping"
        relay.set_mode("reset")
        with pytest.raises(OSError):
            _talk(relay.port)
        relay.set_mode("pass")
        assert _talk(relay.port) == b"ping"
        assert relay.cut >= 1


def test_drop_answers_nothing_until_the_timeout(echo: tuple[str, int]) -> None:
    with Relay(echo, "t") as relay:
        relay.set_mode("drop")
        with pytest.raises(TimeoutError):
            _talk(relay.port, timeout=0.3)


def test_cutting_the_link_ends_a_connection_in_flight(echo: tuple[str, int]) -> None:
    with Relay(echo, "t") as relay, socket.create_connection(("127.0.0.1", relay.port)) as s:
        s.settimeout(2)
        s.sendall(b"one")
        assert s.recv(16) == b"one"
        relay.set_mode("reset")
        with pytest.raises(OSError):
            s.sendall(b"two")
            if not s.recv(16):
                raise ConnectionResetError("closed")


def test_no_target_refuses_and_a_new_target_is_followed(echo: tuple[str, int]) -> None:
    with Relay(None, "t") as relay:
        with pytest.raises(OSError):
            _talk(relay.port)
        relay.set_target(echo)
        assert _talk(relay.port) == b"ping"
        with pytest.raises(ValueError, match="unknown relay mode"):
            relay.set_mode("sideways")
