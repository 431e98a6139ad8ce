"""Network printers: raw TCP (port 9100), always with an explicit timeout.

The socket is opened here rather than with python-escpos ``Network``: that class waits 60 s by
default and, when the connection fails, drops its socket without closing it.
"""

from __future__ import annotations

import contextlib
import socket

from config.printer import NetworkTransport
from printer.transports.base import Deadline, LinkError, offline


class NetworkLink:
    def __init__(self, settings: NetworkTransport) -> None:
        self.settings = settings
        self.device = f"network printer {settings.host}:{settings.port}"
        self._sock: socket.socket | None = None

    @property
    def can_answer(self) -> bool:
        return True

    def open(self, timeout: float) -> None:
        if self._sock is not None:
            return
        try:
            self._sock = socket.create_connection(
                (self.settings.host, self.settings.port), timeout=max(timeout, 0.001)
            )
        except OSError as exc:
            raise self._open_error(exc) from None

    def _open_error(self, cause: BaseException | None) -> LinkError:
        if isinstance(cause, ConnectionRefusedError):
            return offline(
                self.device,
                "refused the connection",
                "Check the printer's IP address and port in [printer.transport], and that no "
                "other computer holds the printer's connection.",
                "printer.offline.refused",
            )
        if isinstance(cause, socket.gaierror):
            return offline(
                self.device,
                "unknown host name",
                "Use the printer's IP address (its self-test page prints it).",
                "printer.offline.unknown_host",
            )
        if isinstance(cause, TimeoutError):
            return offline(
                self.device,
                "did not answer the connection",
                "Check that the printer is switched on and on the same network.",
                "printer.offline.connect_timeout",
            )
        return offline(
            self.device,
            f"cannot be reached ({cause})",
            "Check that the printer is switched on and on the same network.",
            "printer.offline.unreachable",
        )

    def _io_error(self, exc: BaseException) -> LinkError:
        self.close()
        return offline(
            self.device,
            f"connection lost ({exc})",
            "Check that the printer is switched on and its network cable plugged in.",
            "printer.offline.connection_lost",
        )

    def write(self, data: bytes, timeout: float) -> None:
        sock = self._require()
        try:
            sock.settimeout(timeout)
            sock.sendall(data)
        except TimeoutError:
            self.close()
            raise offline(
                self.device,
                f"not accepting data within {timeout:g} s",
                "Check paper and cover.",
                "printer.offline.write_timeout",
            ) from None
        except OSError as exc:
            raise self._io_error(exc) from None

    def query(self, request: bytes, timeout: float) -> bytes:
        sock = self._require()
        deadline = Deadline(timeout)
        try:
            self._discard_input(sock)
            sock.settimeout(deadline.left() or 0.001)
            sock.sendall(request)
            sock.settimeout(deadline.left() or 0.001)
            answer = sock.recv(16)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise self._io_error(exc) from None
        if not answer:
            raise self._io_error(ConnectionError("closed by the printer"))
        return answer

    def _discard_input(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        try:
            while True:
                chunk = sock.recv(256)
                if not chunk:
                    raise ConnectionError("closed by the printer")
        except BlockingIOError:
            pass
        finally:
            sock.setblocking(True)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise offline(self.device, "not open", "", "printer.offline.not_open")
        return self._sock
