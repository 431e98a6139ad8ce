"""Serial printers (RS-232 or USB-serial), through pyserial.

Reads ask for one byte with the time left as the port timeout, so an answer returns at once
and silence costs exactly the deadline (python-escpos reads 16 bytes and always waits the whole
timeout).
"""

from __future__ import annotations

import contextlib
import errno
import time
from typing import Any

from config.printer import SerialTransport
from printer.transports.base import Deadline, LinkError, offline

_PARITY = {"none": "N", "even": "E", "odd": "O"}


class SerialLink:
    def __init__(self, settings: SerialTransport) -> None:
        self.settings = settings
        self.device = f"serial printer {settings.port}"
        self._port: Any = None

    @property
    def can_answer(self) -> bool:
        return True

    def open(self, timeout: float) -> None:
        if self._port is not None:
            return
        import serial

        s = self.settings
        try:
            self._port = serial.Serial(
                port=s.port,
                baudrate=s.baudrate,
                bytesize=serial.EIGHTBITS,
                parity=_PARITY[s.parity],
                stopbits=serial.STOPBITS_ONE,
                timeout=0,
                write_timeout=timeout,
                rtscts=s.flow_control == "rtscts",
                dsrdtr=s.flow_control == "dsrdtr",
                xonxoff=s.flow_control == "xonxoff",
            )
        except (serial.SerialException, ValueError, OSError) as exc:
            raise self._open_error(exc) from None

    def _open_error(self, exc: BaseException) -> LinkError:
        code = getattr(exc, "errno", None)
        if code == errno.ENOENT:
            return offline(
                self.device,
                "not found",
                "Check that the printer (or its USB-serial adapter) is plugged in, and the "
                "port name in [printer.transport] port.",
                "printer.offline.not_found",
            )
        if code == errno.EACCES:
            return offline(
                self.device,
                "permission denied",
                "Add the kiosk's user to the 'dialout' group (sudo usermod -aG dialout USER), "
                "then restart the kiosk.",
                "printer.offline.permission",
            )
        if code == errno.EBUSY:
            return offline(
                self.device,
                "in use by another program",
                "Stop the other program using the port.",
                "printer.offline.busy",
            )
        return offline(self.device, f"cannot be opened ({exc})", "", "printer.offline.open_failed")

    def _io_error(self, exc: BaseException) -> LinkError:
        self.close()
        return offline(
            self.device,
            f"stopped responding ({exc})",
            "Check the cable and that the printer is switched on.",
            "printer.offline.io",
        )

    def write(self, data: bytes, timeout: float) -> None:
        import serial

        port = self._require()
        # The printer takes 10 bits a byte: allow for that on top of the timeout.
        deadline = Deadline(timeout + len(data) * 10 / self.settings.baudrate)
        try:
            port.write_timeout = deadline.left() or 0.001
            port.write(data)
            # Wait until the bytes left the UART (not tcdrain: it never returns while hardware
            # flow control holds the line).
            while port.out_waiting:
                if not deadline.left():
                    raise offline(
                        self.device,
                        f"not accepting data within {deadline.seconds:.1f} s",
                        "The printer holds the line busy: check paper and cover, and that "
                        "flow_control matches the printer's settings.",
                        "printer.offline.write_timeout",
                    )
                time.sleep(0.005)
        except serial.SerialTimeoutException:
            self.close()
            raise offline(
                self.device,
                f"not accepting data within {deadline.seconds:.1f} s",
                "The printer holds the line busy: check paper and cover, and that "
                "flow_control matches the printer's settings.",
                "printer.offline.write_timeout",
            ) from None
        except (serial.SerialException, OSError) as exc:
            raise self._io_error(exc) from None

    def query(self, request: bytes, timeout: float) -> bytes:
        import serial

        port = self._require()
        deadline = Deadline(timeout)
        try:
            port.reset_input_buffer()
            port.write_timeout = deadline.left() or 0.001
            port.write(request)
            port.timeout = deadline.left()
            answer: bytes = port.read(1)
            port.timeout = 0
            return answer
        except serial.SerialTimeoutException:
            return b""
        except (serial.SerialException, OSError) as exc:
            raise self._io_error(exc) from None

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(OSError):
                port.close()

    def _require(self) -> Any:
        if self._port is None:
            raise offline(self.device, "not open", "", "printer.offline.not_open")
        return self._port
