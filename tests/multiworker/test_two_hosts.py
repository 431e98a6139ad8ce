"""Two server hosts behind a real reverse proxy (HAProxy from Debian), sharing one PostgreSQL:
one host is killed in the middle of the day and the site carries on through the other.

The hosts are two ``guichet server`` processes on distinct loopback addresses (127.0.0.2 and
127.0.0.3), each as it would run on its own machine; HAProxy on 127.0.0.1 checks each one's
``/readyz`` and sends requests and streams to those that answer (the recipe of
docs/deployment.md). Devices (a kiosk and a board with their push streams, sync intervals of an
hour) reach the site only through the proxy."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from server import migrations
from server.db import create_db_engine
from server.sites import load_site
from tests.multiworker.procs import ServerProcess
from tests.server.helpers import site_config
from tests.tickets.test_push import Device
from tickets.events import Event
from tickets.journal import Journal
from tickets.sync import SyncClient, SyncState, SyncWorker, push_channel

pytestmark = pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="haproxy is not installed (scripts/apt-deps.sh test)"
)

HOUR = 3600.0
WAIT = 60.0
"""Deadline of each condition wait (a loaded machine starts processes slowly); far below the
hour a device's periodic sync would take."""
SITE = "twohosts"


def wait_for(condition: object, what: str, deadline: float = WAIT) -> None:
    end = time.monotonic() + deadline
    while not condition():  # type: ignore[operator]
        if time.monotonic() > end:
            raise AssertionError(f"still waiting for {what}")
        time.sleep(0.02)


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


HAPROXY_CFG = """\
global
    stats socket {stats} level admin
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # Push streams stay open for hours; the server sends a keep-alive every 15 s.
    timeout tunnel 1h
    retries 3
    option redispatch
frontend guichet
    bind 127.0.0.1:{port}
    default_backend hosts
backend hosts
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""


class Proxy:
    """HAProxy in the foreground, owned by the test."""

    def __init__(self, folder: Path, hosts: dict[str, str]) -> None:
        self.port = free_port()
        self.stats = folder / "haproxy.sock"
        servers = "\n".join(f"    server {name} {where} check" for name, where in hosts.items())
        self.config = folder / "haproxy.cfg"
        self.config.write_text(
            HAPROXY_CFG.format(stats=self.stats, port=self.port, servers=servers), encoding="utf-8"
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "haproxy.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                ["haproxy", "-db", "-f", str(self.config)], stdout=log, stderr=log
            )

    def status(self) -> dict[str, str]:
        """Each host's state as the proxy sees it (UP, DOWN...)."""
        if not self.stats.exists():
            return {}
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.stats))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        out = {}
        for line in data.decode().splitlines():
            fields = line.split(",")
            if len(fields) > 17 and fields[0] == "hosts" and fields[1] not in ("BACKEND",):
                out[fields[1]] = fields[17]
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def device(tmp: Path, url: str, tokens: dict[str, str], name: str, kiosk: bool) -> Device:
    j = Journal(tmp / f"{name}.sqlite3", SITE, name)
    client = SyncClient(url, tokens[name], name, timeout=5.0)
    worker = SyncWorker(
        j,
        client,
        interval=HOUR,
        poll_interval=HOUR,
        max_backoff=HOUR,
        services_for_leases=["civil"] if kiosk else None,
        block=20,
    )
    pushed: list[Event] = []

    def arrived(events: list[Event]) -> None:
        pushed.extend(j.store_remote(events))

    stream = push_channel(worker, SITE, on_events=arrived, max_reconnect=1.0)
    return Device(j, worker, stream, pushed, rounds=[])


ADDRESSES = {"a": "127.0.0.2", "b": "127.0.0.3"}


@pytest.fixture
def hosts(pg_database: str, tmp_path: Path) -> Iterator[dict[str, ServerProcess]]:
    """Hosts a and b (not started), each with its address and a port of its own."""
    engine = create_db_engine(pg_database)
    migrations.migrate(engine)
    engine.dispose()
    made: dict[str, ServerProcess] = {}
    try:
        for name, address in ADDRESSES.items():
            host = ServerProcess(tmp_path / name, pg_database)
            text = host.config.read_text(encoding="utf-8")
            text = text.replace('host = "127.0.0.1"', f'host = "{address}"')
            text = text.replace("port = 0", f"port = {free_port(address)}")
            host.config.write_text(text, encoding="utf-8")
            made[name] = host
        yield made
    finally:
        for host in made.values():
            with contextlib.suppress(OSError):  # one the test stopped itself is closed
                host.stop()


def address(host: ServerProcess) -> str:
    """host:port of a host's configuration."""
    text = host.config.read_text(encoding="utf-8")
    ip = text.split('host = "', 1)[1].split('"', 1)[0]
    port = text.split("port = ", 1)[1].split("\n", 1)[0]
    return f"{ip}:{port}"


def ticket_ids(pg_database: str) -> list[str]:
    engine = create_db_engine(pg_database)
    try:
        with engine.connect() as conn:
            return [
                r[0]
                for r in conn.execute(
                    sa.text(
                        "SELECT data->>'ticket' FROM events WHERE site = :s "
                        "AND kind = 'TicketIssued'"
                    ),
                    {"s": SITE},
                )
            ]
    finally:
        engine.dispose()


def has(device: Device, event_id: str) -> bool:
    return event_id in {e.id for e in device.pushed}


def test_one_host_killed_mid_day_the_site_carries_on_through_the_other(
    hosts: dict[str, ServerProcess], pg_database: str, tmp_path: Path
) -> None:
    """GIVEN a kiosk and a board reaching two hosts through HAProxy, their streams held by host
    A, tickets issued and pushed WHEN host A is killed (SIGKILL) THEN the proxy marks it down,
    the board's stream reopens on host B, the kiosk's next tickets are stored and pushed to
    the board, a call goes through, and no ticket is stored twice or lost."""
    a, b = hosts["a"], hosts["b"]
    a.start()
    engine = create_db_engine(pg_database)
    config = site_config(SITE, counters=2)
    tokens = load_site(engine, config)
    engine.dispose()
    proxy = Proxy(tmp_path, {"a": address(a), "b": address(b)})
    kiosk = device(tmp_path, proxy.url, tokens, "kiosk-a", kiosk=True)
    board = device(tmp_path, proxy.url, tokens, "board-a", kiosk=False)
    devices = (kiosk, board)
    for d in devices:
        d.journal.state(config.to_domain())
    try:
        # Host B is not started yet: every stream opens on A.
        wait_for(lambda: proxy.status() == {"a": "UP", "b": "DOWN"}, "the proxy's checks")
        for d in devices:
            d.worker.start()
            d.stream.start()
        wait_for(lambda: all(d.stream.connected for d in devices), "both streams open")
        wait_for(lambda: kiosk.journal.pool.held("civil", kiosk.journal.today()) > 0, "a lease")
        before = [issue(kiosk) for _ in range(3)]
        for e in before:
            wait_for(partial(has, board, e.id), "a morning ticket pushed to the board")

        b.start()
        wait_for(lambda: proxy.status() == {"a": "UP", "b": "UP"}, "host B up")

        a.stop(signal.SIGKILL)
        wait_for(lambda: proxy.status().get("a") == "DOWN", "the proxy to mark host A down")
        after = [issue(kiosk) for _ in range(3)]
        for e in after:
            wait_for(partial(has, board, e.id), "an afternoon ticket pushed to the board")
        wait_for(lambda: kiosk.journal.backlog() == 0, "the kiosk's outbox empty")
        wait_for(lambda: kiosk.worker.state is SyncState.ONLINE, "the kiosk online")

        called = requests.post(
            f"{proxy.url}/api/v1/sites/{SITE}/counters/1/next",
            headers={"Authorization": f"Bearer {tokens['board-a']}"},
            timeout=30,
        )
        assert called.status_code == 200, called.text
        call = next(e for e in called.json()["events"] if e["kind"] == "TicketCalled")
        wait_for(partial(has, board, call["id"]), "the call pushed to the board")
        assert call["data"]["ticket"] == before[0].data["ticket"]  # first come, first called

        stored = ticket_ids(pg_database)
        made = [e.data["ticket"] for e in before + after]
        assert sorted(stored) == sorted(set(stored)), "a ticket stored twice"
        assert set(made) <= set(stored), "a ticket lost"
        pushed = [e.id for e in board.pushed]
        assert len(pushed) == len(set(pushed))
    finally:
        for d in devices:
            d.stop()
        proxy.stop()


def issue(d: Device) -> Event:
    j = d.journal
    event = j.issue_ticket("civil", j.today(), priority=None, lang="fr", prefix="A")[0]
    d.worker.wake()  # what a kiosk does after each ticket
    return event
