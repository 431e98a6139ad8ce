"""Applies the device configuration written on the SD card's boot partition (SD-card image).

Town IT staff write ``guichet.toml`` on the card's boot partition (FAT, readable from any PC)
before the first boot. It is the role's configuration file, the same keys as
``/etc/guichet/<role>.toml`` (role, site, device_id, [server] url and token, [printer]...), plus
an optional ``[appliance]`` table for the system itself::

    [appliance]
    hostname = "guichet-kiosk-entree"   # default: guichet-<device_id>, or guichet-server
    timezone = "Europe/Paris"           # default: leave the image's (UTC)

A ``guichet-site.toml`` next to it (a site description) is copied to /etc/guichet/site.toml.

Run by guichet-firstboot.service at every boot, early, as root: when the file changed since it
was last applied, it is checked (a misspelt field is reported with the file and the field, and
nothing is changed), then written to /etc/guichet/<role>.toml (mode 0640, group guichet: it holds
the device token), the host name and time zone are set, and the role's unit is enabled and
started (the other roles' units are disabled). With ``--remount-root`` the read-only root file
system is made writable for the change only.

    python -m guichet.firstboot --boot-file FILE [--root DIR] [--remount-root]

Exit status: 0 applied or unchanged, 2 the file is not a valid configuration, 1 the system could
not be changed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomli_w

from config.loader import ConfigError, load_settings, read_toml

ROLES = ("kiosk", "display", "server")
STAMP = "etc/guichet/.boot-config.sha256"
_HOSTNAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class ApplyError(Exception):
    """The system could not be changed (not a configuration problem)."""


# ---- TOML output ----------------------------------------------------------------------------
def dumps(data: dict[str, Any]) -> str:
    """TOML text for what ``tomllib`` reads back equal: ``tomllib.loads(dumps(d)) == d``."""
    return tomli_w.dumps(data)


# ---- reading and checking the boot file -----------------------------------------------------
def read_boot_config(boot_file: Path, root: Path) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(role, the role's configuration, the appliance settings). Raises ConfigError naming the
    boot file and the field."""
    data = read_toml(boot_file)
    appliance = data.pop("appliance", {})
    problems: list[str] = []
    if not isinstance(appliance, dict):
        raise ConfigError(boot_file, [f"{boot_file}: field 'appliance': must be a table"])
    role = data.get("role")
    if role not in ROLES:
        problems.append(f"{boot_file}: field 'role': must be one of {', '.join(ROLES)}")
    known = {"hostname", "timezone"}
    for key in sorted(set(appliance) - known):
        problems.append(f"{boot_file}: field 'appliance.{key}': unknown field")
    default_name = f"guichet-{data.get('device_id', role)}"
    hostname = str(appliance.get("hostname", default_name)).lower()
    if not _HOSTNAME.match(hostname):
        problems.append(
            f"{boot_file}: field 'appliance.hostname': {hostname!r} is not a host name "
            "(letters, digits and '-', at most 63)"
        )
    system: dict[str, str] = {"hostname": hostname}
    if "timezone" in appliance:
        zone = str(appliance["timezone"])
        zone_file = root / "usr/share/zoneinfo" / zone
        if ".." in zone.split("/") or not zone_file.is_file():
            problems.append(f"{boot_file}: field 'appliance.timezone': unknown time zone {zone!r}")
        system["timezone"] = zone
    if problems:
        raise ConfigError(boot_file, problems)
    check_role_config(boot_file, str(role), data)
    return str(role), data, system


def check_role_config(boot_file: Path, role: str, data: dict[str, Any]) -> None:
    """Validates the role's settings exactly as the service will read them."""
    from guichet.cli import _settings_class

    cls = _settings_class(data)
    assert cls is not None  # the role was checked
    with tempfile.TemporaryDirectory() as folder:
        candidate = Path(folder) / f"{role}.toml"
        candidate.write_text(dumps(data), encoding="utf-8")
        try:
            load_settings(cls, candidate)
        except ConfigError as exc:
            problems = [p.replace(str(candidate), str(boot_file)) for p in exc.problems]
            raise ConfigError(boot_file, problems) from None


# ---- changing the system --------------------------------------------------------------------
def fingerprint(*files: Path) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0")
        digest.update(file.read_bytes() if file.is_file() else b"(absent)")
    return digest.hexdigest()


def group_id(root: Path, name: str) -> int:
    """The group's id in ``root``'s /etc/group (the image being configured, not the host)."""
    try:
        for line in (root / "etc/group").read_text().splitlines():
            fields = line.split(":")
            if len(fields) >= 3 and fields[0] == name:
                return int(fields[2])
    except OSError:
        pass
    raise ApplyError(f"no group {name!r} in {root / 'etc/group'}: run systemd-sysusers first")


def write_file(path: Path, text: str, mode: int, gid: int = 0) -> None:
    """Writes ``path`` atomically (a temporary file renamed over it), with owner root."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_text(text, encoding="utf-8")
    os.chown(temporary, 0, gid)
    os.chmod(temporary, mode)
    with temporary.open("rb") as fh:
        os.fsync(fh.fileno())
    temporary.replace(path)


def set_hostname(root: Path, hostname: str, live: bool) -> None:
    write_file(root / "etc/hostname", hostname + "\n", 0o644)
    hosts = root / "etc/hosts"
    lines = hosts.read_text().splitlines() if hosts.exists() else ["127.0.0.1\tlocalhost"]
    lines = [line for line in lines if not line.startswith("127.0.1.1")]
    lines.append(f"127.0.1.1\t{hostname}")
    write_file(hosts, "\n".join(lines) + "\n", 0o644)
    if live:
        socket.sethostname(hostname)


def set_timezone(root: Path, zone: str) -> None:
    localtime = root / "etc/localtime"
    if localtime.is_symlink() or localtime.exists():
        localtime.unlink()
    localtime.symlink_to(f"/usr/share/zoneinfo/{zone}")
    write_file(root / "etc/timezone", zone + "\n", 0o644)


def systemctl(root: Path, *args: str) -> None:
    command = ["systemctl", *args] if root == Path("/") else ["systemctl", f"--root={root}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise ApplyError(f"{' '.join(command)} failed: {done.stderr.strip()}")


def apply(boot_file: Path, root: Path, remount_root: bool = False) -> str:
    """Applies ``boot_file`` to the system in ``root``; returns what was done, in words."""
    site_file = boot_file.with_name("guichet-site.toml")
    role, data, system = read_boot_config(boot_file, root)
    stamp = root / STAMP
    digest = fingerprint(boot_file, site_file)
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return f"{boot_file} unchanged since it was applied: nothing to do"
    live = root == Path("/") and Path("/run/systemd/system").is_dir()
    remounted = remount_root and _root_read_only()
    if remounted:
        _mount("remount,rw")
    try:
        gid = group_id(root, "guichet")
        write_file(root / f"etc/guichet/{role}.toml", dumps(data), 0o640, gid)
        if site_file.is_file():
            write_file(root / "etc/guichet/site.toml", site_file.read_text(), 0o640, gid)
        set_hostname(root, system["hostname"], live)
        if "timezone" in system:
            set_timezone(root, system["timezone"])
        others = [f"guichet-{r}.service" for r in ROLES if r != role]
        systemctl(root, "disable", "--no-reload", *others)
        systemctl(root, "enable", "--no-reload", f"guichet-{role}.service")
        write_file(stamp, digest + "\n", 0o644)
        if live and remounted:
            # The machine id systemd made up at this boot (the image ships none) is kept.
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    ["systemd-machine-id-setup", "--commit"], capture_output=True, timeout=30
                )
        os.sync()
    finally:
        if remounted:
            _mount("remount,ro")
    if live:
        systemctl(root, "start", "--no-block", f"guichet-{role}.service")
    return (
        f"{boot_file} applied: {role} {data.get('device_id', '')!s} of site "
        f"{data.get('site', '')!s}, host name {system['hostname']}"
    )


def _root_read_only() -> bool:
    return bool(os.statvfs("/").f_flag & os.ST_RDONLY)


def _mount(options: str) -> None:
    mount = shutil.which("mount") or "/usr/bin/mount"
    done = subprocess.run([mount, "-o", options, "/"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise ApplyError(f"mount -o {options} / failed: {done.stderr.strip()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m guichet.firstboot", description=__doc__)
    parser.add_argument("--boot-file", type=Path, required=True)
    parser.add_argument("--root", type=Path, default=Path("/"))
    parser.add_argument("--remount-root", action="store_true")
    args = parser.parse_args(argv)
    try:
        print(apply(args.boot_file, args.root, args.remount_root))
    except ConfigError as exc:
        print("Guichet: the device configuration on the SD card is not valid; nothing changed:")
        for line in exc.problems:
            print(f"  {line}")
        return 2
    except (ApplyError, OSError) as exc:
        print(f"Guichet: the device configuration could not be applied: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
