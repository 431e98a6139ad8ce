"""The udev rule that printer errors point to: present, well-formed, giving group lp access."""

from __future__ import annotations

import re
from pathlib import Path

from printer.transports.usb import UDEV_RULE

ROOT = Path(__file__).parents[2]
PAIR = re.compile(r'^(?:[A-Z_]+(?:\{[A-Za-z_]+\})?)(?:==|!=|=|\+=)"[^"]*"$')


def rule_lines() -> list[str]:
    text = (ROOT / UDEV_RULE).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_every_rule_line_is_a_list_of_key_operator_value() -> None:
    for line in rule_lines():
        for pair in (p.strip() for p in line.split(",")):
            assert PAIR.match(pair), f"{line!r}: {pair!r}"


def test_printer_class_devices_and_usblp_nodes_go_to_group_lp() -> None:
    lines = rule_lines()
    assert any('ID_USB_INTERFACES}=="*:0701??:*"' in x and 'GROUP="lp"' in x for x in lines)
    assert any('KERNEL=="lp[0-9]*"' in x and 'MODE="0660"' in x for x in lines)
    labels = {m.group(1) for x in lines if (m := re.search(r'LABEL="([^"]+)"', x))}
    gotos = {m.group(1) for x in lines for m in re.finditer(r'GOTO="([^"]+)"', x)}
    assert gotos <= labels
