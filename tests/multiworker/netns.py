"""Machines for the tests: network namespaces on a bridge of their own, each with its address.

``Hosts`` makes a bridge in the root namespace (its address is the "gateway" the hosts reach
the root namespace by) and one namespace per host joined to it by a veth pair. A process runs
on a host with ``ip netns exec NAME`` (``Hosts.run_prefix``). Losing a host is either pulling
its cable (``unplug``: its veth goes down, its processes live on but reach nothing and nothing
reaches them, as a machine whose switch port died) or killing everything it runs (``kill``).

PostgreSQL on this kind of machine listens on 127.0.0.1 only and trusts only 127.0.0.1
(pg_hba.conf). Rather than change the system's PostgreSQL, the tests relay connections from the
gateway address in the root namespace to 127.0.0.1:5432 (``tests.kiosk.link.Link``), where
PostgreSQL sees a loopback client. (A real site's PostgreSQL machine lists the hosts in
``listen_addresses`` and pg_hba.conf instead; docs/deployment.md.)

Everything is removed by ``close()`` even after a failure; namespaces and bridges left by a
test process that died (their name carries its pid) are removed by the next one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import re
import signal
import subprocess
from pathlib import Path

PREFIX = "gh"
"""Namespaces and interfaces of these tests: ``gh<pid>-<host>`` and ``gh<pid>br``."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add); the loopback variant runs instead"
    if not Path("/usr/bin/ip").exists() and not Path("/sbin/ip").exists():
        return "iproute2's ip is absent"
    probe = f"{PREFIX}{os.getpid()}-probe"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def remove_leftovers() -> None:
    """Removes the namespaces and bridges of test processes that no longer run."""
    names = _ip("netns", "list", check=False).stdout.split()
    links = re.findall(r"^\d+: ([^:@]+)", _ip("-o", "link", check=False).stdout, re.M)
    for name in {*names, *links}:
        found = re.fullmatch(rf"{PREFIX}(\d+)(?:-.*|br)", name)
        if found is None or Path(f"/proc/{found.group(1)}").exists():
            continue
        if name in names:
            _kill_all(name)
            _ip("netns", "del", name, check=False)
        else:
            _ip("link", "del", name, check=False)


def _pids(namespace: str) -> list[int]:
    out = _ip("netns", "pids", namespace, check=False).stdout.split()
    return [int(p) for p in out]


def _kill_all(namespace: str) -> None:
    for pid in _pids(namespace):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.0.0.0/8 that no interface of this machine uses."""
    used = [
        ipaddress.ip_interface(a).network
        for a in re.findall(r"inet (\S+)", _ip("-4", "-o", "addr", check=False).stdout)
    ]
    routes = _ip("-4", "route", check=False).stdout
    while True:
        net = ipaddress.IPv4Network(f"10.{random.randint(64, 250)}.{random.randint(0, 255)}.0/24")
        if not any(net.overlaps(u) for u in used) and str(net) not in routes:
            return net


class Hosts:
    """Namespaces ``names`` on one bridge; ``address[name]`` is each host's address."""

    def __init__(self, names: list[str]) -> None:
        self.tag = f"{PREFIX}{os.getpid()}"
        self.bridge = f"{self.tag}br"
        net = _free_subnet()
        hosts = list(net.hosts())
        self._net = net
        self._spare = iter(hosts[2:10])
        self.gateway = str(hosts[0])
        self.address: dict[str, str] = {}
        self.namespace: dict[str, str] = {}
        self._veth: dict[str, str] = {}
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.gateway}/{net.prefixlen}", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
            for i, name in enumerate(names):
                ns, outside = f"{self.tag}-{name}", f"{self.tag}{name}"
                inside = f"{outside}i"
                _ip("netns", "add", ns)
                self.namespace[name] = ns
                _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
                self._veth[name] = outside
                _ip("link", "set", inside, "netns", ns)
                _ip("link", "set", outside, "master", self.bridge)
                _ip("link", "set", outside, "up")
                address = str(hosts[10 + i])
                self.address[name] = address
                inns = ("-n", ns)
                _ip(*inns, "link", "set", inside, "name", "eth0")
                _ip(*inns, "addr", "add", f"{address}/{net.prefixlen}", "dev", "eth0")
                _ip(*inns, "link", "set", "eth0", "up")
                _ip(*inns, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def run_prefix(self, name: str) -> list[str]:
        """The command prefix that runs a program on host ``name``."""
        return ["ip", "netns", "exec", self.namespace[name]]

    def add_address(self) -> str:
        """Another address of the root namespace on the bridge (a service the test runs that
        one host alone must lose: ``block``)."""
        address = str(next(self._spare))
        _ip("addr", "add", f"{address}/{self._net.prefixlen}", "dev", self.bridge)
        return address

    def block(self, name: str, address: str) -> None:
        """Host ``name`` can no longer reach ``address`` (a route that refuses: its connections
        fail at once, as through a firewall that rejects); everything else it still reaches."""
        _ip("-n", self.namespace[name], "route", "add", "prohibit", f"{address}/32")

    def unblock(self, name: str, address: str) -> None:
        _ip("-n", self.namespace[name], "route", "del", "prohibit", f"{address}/32")

    def unplug(self, name: str) -> None:
        """Host ``name``'s cable pulled: its link goes down on both ends."""
        _ip("link", "set", self._veth[name], "down")
        _ip("-n", self.namespace[name], "link", "set", "eth0", "down")

    def kill(self, name: str) -> None:
        """Every process on host ``name`` killed (SIGKILL), as a machine losing power."""
        _kill_all(self.namespace[name])

    def processes(self, name: str) -> list[int]:
        return _pids(self.namespace[name])

    def close(self) -> None:
        for ns in self.namespace.values():
            _kill_all(ns)
            _ip("netns", "del", ns, check=False)
        for veth in self._veth.values():  # gone with its namespace's end, normally
            _ip("link", "del", veth, check=False)
        _ip("link", "del", self.bridge, check=False)
