"""A fake USB bus for pyusb (the one thing tests cannot have for real).

It implements pyusb's backend interface with one printer-class device (one configuration, one
interface, a bulk OUT and a bulk IN endpoint). Bytes written to the OUT endpoint go to a
:class:`~printer.virtual.VirtualPrinter`; its status answers come back on the IN endpoint.
``deny_access`` and ``unplugged`` reproduce what libusb reports in those cases.
"""

from __future__ import annotations

import errno
from types import SimpleNamespace
from typing import Any

import usb.backend
import usb.core

from printer.virtual import VirtualPrinter


class FakeUsbBackend(usb.backend.IBackend):
    def __init__(
        self,
        printer: VirtualPrinter,
        vendor_id: int = 0x04B8,
        product_id: int = 0x0202,
        out_ep: int = 0x01,
        in_ep: int = 0x82,
    ) -> None:
        self.printer = printer
        self.vendor_id, self.product_id = vendor_id, product_id
        self.out_ep, self.in_ep = out_ep, in_ep
        self.present = True
        self.deny_access = False
        self.unplugged = False
        self.answers = bytearray()
        self.claimed: set[int] = set()

    # Enumeration and descriptors.
    def enumerate_devices(self) -> Any:
        if self.present:
            yield "printer"

    def get_device_descriptor(self, dev: Any) -> Any:
        return SimpleNamespace(
            bLength=18,
            bDescriptorType=1,
            bcdUSB=0x0200,
            bDeviceClass=0,
            bDeviceSubClass=0,
            bDeviceProtocol=0,
            bMaxPacketSize0=64,
            idVendor=self.vendor_id,
            idProduct=self.product_id,
            bcdDevice=0x0100,
            iManufacturer=0,
            iProduct=0,
            iSerialNumber=0,
            bNumConfigurations=1,
            address=5,
            bus=1,
            port_number=2,
            port_numbers=(2,),
            speed=2,
        )

    def get_configuration_descriptor(self, dev: Any, config: int) -> Any:
        return SimpleNamespace(
            bLength=9,
            bDescriptorType=2,
            wTotalLength=32,
            bNumInterfaces=1,
            bConfigurationValue=1,
            iConfiguration=0,
            bmAttributes=0xC0,
            bMaxPower=1,
            extra_descriptors=[],
        )

    def get_interface_descriptor(self, dev: Any, intf: int, alt: int, config: int) -> Any:
        return SimpleNamespace(
            bLength=9,
            bDescriptorType=4,
            bInterfaceNumber=0,
            bAlternateSetting=0,
            bNumEndpoints=2,
            bInterfaceClass=7,  # printer class
            bInterfaceSubClass=1,
            bInterfaceProtocol=2,  # bidirectional
            iInterface=0,
            extra_descriptors=[],
        )

    def get_endpoint_descriptor(self, dev: Any, ep: int, intf: int, alt: int, config: int) -> Any:
        address = (self.out_ep, self.in_ep)[ep]
        return SimpleNamespace(
            bLength=7,
            bDescriptorType=5,
            bEndpointAddress=address,
            bmAttributes=2,  # bulk
            wMaxPacketSize=64,
            bInterval=0,
            bRefresh=0,
            bSynchAddress=0,
            extra_descriptors=[],
        )

    # Device handle.
    def open_device(self, dev: Any) -> Any:
        return "handle"

    def close_device(self, dev_handle: Any) -> None:
        pass

    def set_configuration(self, dev_handle: Any, config_value: int) -> None:
        pass

    def get_configuration(self, dev_handle: Any) -> int:
        return 1

    def set_interface_altsetting(self, dev_handle: Any, intf: int, altsetting: int) -> None:
        pass

    def claim_interface(self, dev_handle: Any, intf: int) -> None:
        if self.deny_access:
            raise usb.core.USBError(
                "Access denied (insufficient permissions)", error_code=-3, errno=errno.EACCES
            )
        self.claimed.add(intf)

    def release_interface(self, dev_handle: Any, intf: int) -> None:
        self.claimed.discard(intf)

    def reset_device(self, dev_handle: Any) -> None:
        pass

    # Transfers.
    def bulk_write(self, dev_handle: Any, ep: int, intf: int, data: Any, timeout: int) -> int:
        if self.unplugged:
            raise usb.core.USBError("No such device", error_code=-4, errno=errno.ENODEV)
        self.answers += self.printer.feed(bytes(data))
        return len(data)

    def bulk_read(self, dev_handle: Any, ep: int, intf: int, buff: Any, timeout: int) -> int:
        if self.unplugged:
            raise usb.core.USBError("No such device", error_code=-4, errno=errno.ENODEV)
        if not self.answers:
            raise usb.core.USBTimeoutError("Operation timed out", error_code=-7, errno=110)
        n = min(len(buff), len(self.answers))
        for i in range(n):
            buff[i] = self.answers[i]
        del self.answers[:n]
        return n
