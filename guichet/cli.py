"""``guichet`` subcommands. Each imports its process package only when run, so an appliance
that installed only its own dependency group can still run its own subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from config.loader import ConfigError, GuichetSettings, load_model, load_settings, read_toml
from tickets.stopping import stop_on_signals


def _settings_class(data: dict[str, object]) -> type[GuichetSettings] | None:
    role = data.get("role")
    if role == "server":
        from config.server import ServerSettings

        return ServerSettings
    if role == "kiosk":
        from config.kiosk import KioskSettings

        return KioskSettings
    if role == "display":
        from config.display import DisplaySettings

        return DisplaySettings
    return None


def check_config(path: Path) -> int:
    """Validates any Guichet TOML file; prints each problem with file and field; exit 2."""
    try:
        data = read_toml(path)
        if "site" in data and isinstance(data["site"], dict):
            from config.site import SiteConfig

            site = load_model(SiteConfig, path)
            print(
                f"{path}: site {site.site.id!r} OK ({len(site.services)} services, "
                f"{len(site.counters)} counters, {len(site.devices)} devices)"
            )
            return 0
        if "simulation" in data and isinstance(data["simulation"], dict):
            from guichet.sim.config import load_sim_config
            from guichet.sim.site import sim_site

            cfg = load_sim_config(path)
            try:
                sim_site(cfg)
            except ValueError as exc:
                print(f"{path}: {exc}", file=sys.stderr)
                return 2
            sim = cfg.simulation
            print(f"{path}: simulation OK ({sim.date} {sim.start}-{sim.end}, x{sim.speedup:g})")
            return 0
        cls = _settings_class(data)
        if cls is None:
            print(
                f"{path}: field 'role': must be one of server, kiosk, display "
                "(or the file must hold a [site] table)",
                file=sys.stderr,
            )
            return 2
        settings = load_settings(cls, path)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    problems, unchecked = settings.prerequisites(), list(_UNCHECKED)
    if data["role"] == "server":
        try:
            from server.preflight import database_problems
        except ImportError:
            unchecked.append("the database (the server's packages are not installed here)")
        else:
            from config.server import ServerSettings

            assert isinstance(settings, ServerSettings)
            problems += database_problems(settings)
    for line in problems:
        print(f"{path}: {line}", file=sys.stderr)
    for what in unchecked:
        print(f"{path}: not checked: {what}")
    if problems:
        return 2
    print(f"{path}: {data['role']} configuration OK")
    return 0


_UNCHECKED = (
    "folders and files as the user the service runs as (checked as this user)",
    "addresses and ports (a port free now may be taken at start; a server or printer may "
    "answer later)",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="guichet", description="Guichet queue management.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("server", help="run the central queue server")
    s.add_argument("--config", type=Path, help="server TOML file")
    s.add_argument("--workers", type=int, help="server processes (PostgreSQL only above 1)")

    s = sub.add_parser("site", help="manage sites")
    site_sub = s.add_subparsers(dest="site_command", required=True)
    sl = site_sub.add_parser("load", help="create or update a site from a TOML file")
    sl.add_argument("file", type=Path)
    sl.add_argument("--config", type=Path, help="server TOML file (for the database URL)")
    sl.add_argument(
        "--token-file",
        type=Path,
        help="write new device tokens here (TOML) instead of printing them",
    )

    s = sub.add_parser("user", help="manage agents, managers and admins of the server")
    user_sub = s.add_subparsers(dest="user_command", required=True)
    ua = user_sub.add_parser("add", help="create a user, or reset one's password, role and sites")
    ua.add_argument("username")
    ua.add_argument("--role", required=True, choices=("agent", "manager", "admin", "superadmin"))
    ua.add_argument(
        "--site",
        action="append",
        default=[],
        help="a site the user works for (repeat for several; a superadmin takes none)",
    )
    ua.add_argument("--config", type=Path, help="server TOML file (for the database URL)")
    ua.add_argument(
        "--password-file", type=Path, help="read the password from this file instead of stdin"
    )

    ut = user_sub.add_parser(
        "token", help="give a manager or admin a read-only API token for scripts (shown once)"
    )
    ut.add_argument("username")
    ut.add_argument("--revoke", action="store_true", help="delete the user's tokens instead")
    ut.add_argument("--config", type=Path, help="server TOML file (for the database URL)")

    s = sub.add_parser("check-config", help="validate a configuration or site file")
    s.add_argument("file", type=Path)

    s = sub.add_parser("printer", help="ticket printer tools")
    pr_sub = s.add_subparsers(dest="printer_command", required=True)
    pt = pr_sub.add_parser("test", help="print a test ticket and the printer's status")
    pt.add_argument("--config", type=Path, required=True, help="kiosk TOML file")
    pv = pr_sub.add_parser("virtual", help="run a virtual ESC/POS printer rendering PNG tickets")
    pv.add_argument("--host", default="127.0.0.1")
    pv.add_argument("--port", type=int, default=9100)
    pv.add_argument("--pty", action="store_true", help="also listen on a pseudo-terminal")
    pv.add_argument("--out", type=Path, default=Path("printed"), help="folder for the PNGs")
    pv.add_argument("--paper-mm", type=int, choices=(58, 80), default=80)

    s = sub.add_parser("kiosk", help="run the ticket kiosk")
    s.add_argument("--config", type=Path, required=True)

    s = sub.add_parser("display", help="run the display board")
    s.add_argument("--config", type=Path, required=True)

    s = sub.add_parser("demo", help="run a whole demo site on this machine")
    s.add_argument(
        "--selftest",
        action="store_true",
        help="take and call tickets by simulated touches, save images, exit",
    )
    s.add_argument("--dir", type=Path, default=Path("demo-data"), help="working folder")

    s = sub.add_parser("doctor", help="check this device: config, printer, buttons, server")
    s.add_argument("--config", type=Path, required=True)

    s = sub.add_parser(
        "simulate", help="run a whole simulated day of a site (kiosks, boards, faults) and check it"
    )
    s.add_argument("--config", type=Path, required=True, help="simulation TOML file")
    s.add_argument("--output", type=Path, help="folder for the record and the report")
    return p


OWN_SIGNAL_HANDLING = ("server", "kiosk", "display")
"""Commands that stop cleanly on their own handlers (uvicorn's; the windows' UI loop); every
other one stops on SIGINT, SIGTERM and SIGHUP by ``KeyboardInterrupt``."""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cmd = args.command
    if cmd == "check-config":
        return check_config(args.file)
    if cmd not in OWN_SIGNAL_HANDLING:
        stop_on_signals()
    try:
        if cmd == "server":
            from server.main import run_server

            return run_server(args.config, args.workers)
        if cmd == "site":
            from server.main import load_site_command

            return load_site_command(args.file, args.config, args.token_file)
        if cmd == "user":
            from server.main import add_user_command, user_token_command

            if args.user_command == "token":
                return user_token_command(args.username, args.revoke, args.config)
            return add_user_command(
                args.username, args.role, args.site, args.config, args.password_file
            )
        if cmd == "printer":
            from printer import cli as printer_cli

            if args.printer_command == "test":
                return printer_cli.test_ticket(args.config)
            return printer_cli.run_virtual(args.host, args.port, args.pty, args.out, args.paper_mm)
        if cmd == "kiosk":
            from kiosk.main import run_kiosk

            return run_kiosk(args.config)
        if cmd == "display":
            from display.main import run_display

            return run_display(args.config)
        if cmd == "demo":
            from guichet.demo import run_demo

            return run_demo(args.dir, selftest=args.selftest)
        if cmd == "doctor":
            from guichet.doctor import run_doctor

            return run_doctor(args.config)
        if cmd == "simulate":
            from guichet.simulate import run_simulate

            return run_simulate(args.config, args.output)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    raise AssertionError(cmd)
