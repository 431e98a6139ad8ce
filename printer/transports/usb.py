"""USB printers, through python-escpos ``Usb`` (pyusb and libusb underneath).

python-escpos only logs permission problems when it configures the device; claiming the
interface here turns them into a clear status at once. ``backend`` lets tests put a fake USB
bus under pyusb (the only part of the printer that is faked: no USB bus exists in CI).
"""

from __future__ import annotations

import contextlib
import errno
from typing import Any

from config.printer import UsbTransport
from printer.transports.base import LinkError, offline

UDEV_RULE = "systemd/udev/60-guichet-printer.rules"
_PERMISSION_FIX = (
    f"Install the udev rule: sudo cp {UDEV_RULE} /etc/udev/rules.d/ && sudo udevadm control "
    "--reload && sudo udevadm trigger, add the kiosk's user to the 'lp' group, then unplug and "
    "replug the printer."
)


class UsbLink:
    def __init__(self, settings: UsbTransport, backend: Any = None) -> None:
        self.settings = settings
        self.backend = backend
        self.device = f"USB printer {settings.vendor_id:04x}:{settings.product_id:04x}"
        self._usb: Any = None
        self._dev: Any = None

    @property
    def can_answer(self) -> bool:
        return True

    def open(self, timeout: float) -> None:
        if self._dev is not None:
            return
        try:
            import usb.core
            import usb.util
            from escpos.exceptions import DeviceNotFoundError
            from escpos.printer import Usb
        except ImportError as exc:
            raise offline(
                self.device,
                f"USB support is not installed ({exc.name} missing)",
                "Install the printer extra: pip install 'guichet[printer]'.",
                "printer.offline.no_usb_support",
            ) from None

        s = self.settings
        printer = Usb(
            s.vendor_id,
            s.product_id,
            usb_args={"backend": self.backend} if self.backend is not None else {},
            timeout=max(1, int(timeout * 1000)),
            in_ep=s.in_endpoint,
            out_ep=s.out_endpoint,
        )
        try:
            printer.open()
            usb.util.claim_interface(printer.device, 0)
        except DeviceNotFoundError:
            raise offline(
                self.device,
                "not found",
                "Check that the printer is switched on and its USB cable plugged in; 'lsusb' "
                f"must list {s.vendor_id:04x}:{s.product_id:04x} (else fix vendor_id and "
                "product_id in [printer.transport]).",
                "printer.offline.not_found",
            ) from None
        except usb.core.NoBackendError:
            raise offline(
                self.device,
                "libusb is not installed",
                "Install it: sudo apt-get install libusb-1.0-0.",
                "printer.offline.no_libusb",
            ) from None
        except usb.core.USBError as exc:
            usb.util.dispose_resources(printer.device)
            raise self._usb_error(exc) from None
        self._usb = printer
        self._dev = printer.device

    def _usb_error(self, exc: Any) -> LinkError:
        code = getattr(exc, "errno", None)
        if code == errno.EACCES:
            return offline(
                self.device, "permission denied", _PERMISSION_FIX, "printer.offline.permission"
            )
        if code == errno.EBUSY:
            return offline(
                self.device,
                "in use by another driver or program",
                'Stop CUPS or any other program using the printer, or use kind = "file" '
                'with path = "/dev/usb/lp0" to print through the kernel\'s usblp driver.',
                "printer.offline.busy",
            )
        if code in (errno.ENODEV, errno.ENOENT, errno.EIO, errno.EPIPE):
            return offline(
                self.device,
                "unplugged or switched off",
                "Check the USB cable and the power switch.",
                "printer.offline.unplugged",
            )
        return offline(self.device, f"USB error ({exc})", "", "printer.offline.usb_error")

    def write(self, data: bytes, timeout: float) -> None:
        import usb.core

        dev = self._require()
        try:
            dev.write(self.settings.out_endpoint, data, max(1, int(timeout * 1000)))
        except usb.core.USBTimeoutError:
            self.close()
            raise offline(
                self.device,
                f"not accepting data within {timeout:g} s",
                "Check paper and cover.",
                "printer.offline.write_timeout",
            ) from None
        except usb.core.USBError as exc:
            self.close()
            raise self._usb_error(exc) from None

    def query(self, request: bytes, timeout: float) -> bytes:
        import usb.core

        dev = self._require()
        ep = self.settings.in_endpoint
        try:
            with contextlib.suppress(usb.core.USBTimeoutError):
                dev.read(ep, 64, 1)  # drop an answer that came too late for an earlier question
            dev.write(self.settings.out_endpoint, request, max(1, int(timeout * 1000)))
            return bytes(dev.read(ep, 64, max(1, int(timeout * 1000))))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as exc:
            self.close()
            raise self._usb_error(exc) from None

    def close(self) -> None:
        dev, self._dev, self._usb = self._dev, None, None
        if dev is not None:
            import usb.util

            # An unplugged device cannot release its interface: nothing is left to free then.
            with contextlib.suppress(Exception):
                usb.util.release_interface(dev, 0)
            usb.util.dispose_resources(dev)

    def _require(self) -> Any:
        if self._dev is None:
            raise offline(self.device, "not open", "", "printer.offline.not_open")
        return self._dev
