"""The notices loop: every ``notice_seconds`` ([messages]), each server process looks for
checked-in appointments running late (``server.appointments.punctuality``) and walk-ins whose
turn is near (``server.stepout``), and tells them. Each is told once whichever process sees
it first; time passing is enough to make an appointment late, so this polls rather than waits
for events."""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

from server import db, schema, stepout
from server.appointments import privacy, punctuality
from server.context import ServerContext

log = logging.getLogger(__name__)


def run_once(ctx: ServerContext, now: float) -> tuple[int, int]:
    """One round; returns (appointments told they run late, walk-ins told their turn)."""
    # Every site's configuration version in one statement; the parsed configurations held
    # are used as they are (a fleet's thousand sites cost one query a round, not a thousand).
    s = schema.sites
    loaded_sites = {}
    with db.read(ctx.engine) as conn:
        for site_id, version in conn.execute(sa.select(s.c.id, s.c.config_version)).all():
            loaded = ctx.sites.cached(site_id, version) or ctx.sites.get(conn, site_id)
            if loaded is not None:
                loaded_sites[site_id] = loaded
    day_of = {s: loaded.site.day(now).isoformat() for s, loaded in loaded_sites.items()}
    late = punctuality.pending(ctx, day_of)
    turns = stepout.pending_sites(ctx)
    told_late = told_turns = 0
    for site_id in sorted(set(late) | turns):
        loaded = loaded_sites.get(site_id)
        if loaded is None:
            continue
        # A copy: the site's state is not held (nor its lock) while messages are decided.
        with db.read(ctx.engine) as conn, ctx.states.hold(conn, loaded, now) as state:
            seen = state.copy()
        if site_id in late:
            told_late += len(punctuality.tell_late(ctx, loaded, seen, late[site_id], now))
        if site_id in turns:
            told_turns += len(stepout.tell_turns(ctx, loaded, seen, now))
    privacy.purge_ticket_contacts(ctx.engine, now)
    return told_late, told_turns


class NoticeLoop:
    """``run_once`` every ``every_seconds`` in a thread, until closed."""

    def __init__(self, ctx: ServerContext, every_seconds: float) -> None:
        self.ctx = ctx
        self.every_seconds = every_seconds
        self.rounds = 0
        """Rounds done so far (tests wait on it)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="guichet-notices", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run_once(self.ctx, self.ctx.now())
            except sa.exc.SQLAlchemyError as exc:
                log.warning("notices not looked for this round: %s", type(exc).__name__)
            self.rounds += 1
            self._stop.wait(self.every_seconds)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
