"""A TCP relay the simulator controls, to cut links between devices and the server.

Every link of a simulated site (device to server, device to peer) goes through one ``Relay``
on 127.0.0.1. Its ``mode`` says what the link does:

- ``"pass"``: bytes flow both ways;
- ``"reset"``: new connections are reset at once, open ones are cut (a host that is down);
- ``"drop"``: connections are accepted and nothing ever answers (a cable pulled, a switch
  dropping packets): the other side waits for its timeout.

``target`` may change while it runs (a server restarted on another port).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading

log = logging.getLogger(__name__)
MODES = ("pass", "reset", "drop")


class Relay:
    def __init__(self, target: tuple[str, int] | None = None, name: str = "relay") -> None:
        self.name = name
        self.target = target
        self.mode = "pass"
        self.connections = 0
        """Connections accepted since start."""
        self.cut = 0
        """Connections cut or refused because of the mode."""
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name=f"relay-{name}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Relay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._server.close()
        self._cut_all()

    def __enter__(self) -> Relay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_mode(self, mode: str) -> None:
        """Changes what the link does; leaving "pass" cuts the connections in flight."""
        if mode not in MODES:
            raise ValueError(f"unknown relay mode {mode!r}; one of {', '.join(MODES)}")
        with self._lock:
            previous, self.mode = self.mode, mode
        if mode != previous:
            log.info("relay %s: %s -> %s", self.name, previous, mode)
            # Reset cuts what is in flight; leaving "drop" cuts the stalled connections (their
            # clients have given up by then).
            if mode == "reset" or previous == "drop":
                self._cut_all()

    def set_target(self, target: tuple[str, int] | None) -> None:
        with self._lock:
            self.target = target

    # ---- relaying -------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                mode, target = self.mode, self.target
            if mode == "reset" or (mode == "pass" and target is None):
                self.cut += 1
                _reset(client)
                continue
            if mode == "drop":
                self.cut += 1
                self._track(client)  # held open, never read: cut when the mode changes
                continue
            assert target is not None
            threading.Thread(
                target=self._connect, args=(client, target), name=f"relay-{self.name}", daemon=True
            ).start()

    def _connect(self, client: socket.socket, target: tuple[str, int]) -> None:
        try:
            upstream = socket.create_connection(target, timeout=2.0)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        self._track(client)
        self._track(upstream)
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data or self.mode == "reset":
                    break
                if self.mode == "pass":
                    dst.sendall(data)
                # "drop": read and lose it, as a dead link would
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            self._untrack(s)

    def _track(self, s: socket.socket) -> None:
        with self._lock:
            self._open.add(s)

    def _untrack(self, s: socket.socket) -> None:
        with self._lock:
            self._open.discard(s)
        with contextlib.suppress(OSError):
            s.close()

    def _cut_all(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
        for s in sockets:
            _reset(s)


def _reset(s: socket.socket) -> None:
    """Closes with a TCP reset (SO_LINGER 0), as a host that refuses would."""
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        s.close()
