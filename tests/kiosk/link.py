"""A TCP link on 127.0.0.1 standing for the network between the kiosk and the server: it
forwards to a server port, and can be cut (connections dropped, new ones closed at once) and
restored towards another port, while its own address stays the same. ``Link(address)``
listens on another address of this machine (the tests' network namespaces reach PostgreSQL on
127.0.0.1 through one on their bridge's address)."""

from __future__ import annotations

import contextlib
import socket
import threading


class Link:
    def __init__(self, address: str = "127.0.0.1") -> None:
        self._listener = socket.create_server((address, 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{address}:{self.port}"
        self._target: int | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="test-link", daemon=True)
        self._thread.start()

    def restore(self, target_port: int) -> None:
        self._target = target_port

    def cut(self) -> None:
        self._target = None
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._open.clear()

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self._thread.join(2)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            target = self._target
            if target is None:
                conn.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", target), timeout=1)
            except OSError:
                conn.close()
                continue
            upstream.settimeout(None)  # a quiet connection (a push stream) stays open
            with self._lock:
                self._open += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
