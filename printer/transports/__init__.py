"""One module per way of reaching a printer: usb, serial, network, file, virtual."""
