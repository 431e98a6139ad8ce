"""Printers behind a device node of a kernel driver (``/dev/usb/lp0`` from usblp, a parallel
port), or a plain file for debugging.

The node is opened non-blocking and never created: a missing node means the printer is
unplugged, not that a file should appear in /dev. Writes wait for the device with a deadline
(usblp blocks for ever on a printer that is out of paper). Status answers come back through the
same node when the printer is bidirectional; a plain file cannot answer.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import stat

from config.printer import FileTransport
from printer.transports.base import Deadline, LinkError, offline


class FileLink:
    def __init__(self, settings: FileTransport) -> None:
        self.path = settings.path
        self.device = f"printer device {settings.path}"
        self._fd: int | None = None
        self._readable = False

    @property
    def can_answer(self) -> bool:
        return self._readable

    def open(self, timeout: float) -> None:
        if self._fd is not None:
            return
        try:
            is_char_device = stat.S_ISCHR(os.stat(self.path).st_mode)
            if is_char_device:
                try:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY)
                    self._readable = True
                except PermissionError:
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
                    self._readable = False
            else:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
                self._readable = False
        except OSError as exc:
            raise self._open_error(exc) from None

    def _open_error(self, exc: OSError) -> LinkError:
        if exc.errno == errno.ENOENT:
            return offline(
                self.device,
                "not found",
                "Check that the printer is plugged in and switched on (the kernel creates the "
                "device node when it sees the printer), and the path in [printer.transport].",
                "printer.offline.not_found",
            )
        if exc.errno == errno.EACCES:
            return offline(
                self.device,
                "permission denied",
                "Install systemd/udev/60-guichet-printer.rules (it gives the 'lp' group access) "
                "and add the kiosk's user to the 'lp' group.",
                "printer.offline.permission",
            )
        if exc.errno == errno.EBUSY:
            return offline(
                self.device,
                "in use by another program",
                "Stop the other program (e.g. CUPS) using the printer.",
                "printer.offline.busy",
            )
        return offline(
            self.device, f"cannot be opened ({exc.strerror})", "", "printer.offline.open_failed"
        )

    def _io_error(self, exc: OSError) -> LinkError:
        self.close()
        return offline(
            self.device,
            f"stopped responding ({exc.strerror})",
            "Check that the printer is plugged in and switched on.",
            "printer.offline.io",
        )

    def write(self, data: bytes, timeout: float) -> None:
        fd = self._require()
        deadline = Deadline(timeout)
        view = memoryview(data)
        try:
            while view:
                try:
                    sent = os.write(fd, view)
                    view = view[sent:]
                    continue
                except BlockingIOError:
                    pass
                left = deadline.left()
                if not left or not select.select([], [fd], [], left)[1]:
                    self.close()
                    raise offline(
                        self.device,
                        f"not accepting data within {timeout:g} s",
                        "Check paper and cover.",
                        "printer.offline.write_timeout",
                    )
        except OSError as exc:
            raise self._io_error(exc) from None

    def query(self, request: bytes, timeout: float) -> bytes:
        fd = self._require()
        deadline = Deadline(timeout)
        try:
            while select.select([fd], [], [], 0)[0] and os.read(fd, 256):
                pass
            self.write(request, deadline.left() or 0.001)
            if select.select([fd], [], [], deadline.left())[0]:
                return os.read(fd, 16)
        except BlockingIOError:
            return b""
        except OSError as exc:
            raise self._io_error(exc) from None
        return b""

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _require(self) -> int:
        if self._fd is None:
            raise offline(self.device, "not open", "", "printer.offline.not_open")
        return self._fd
