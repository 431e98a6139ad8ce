"""The live streams' wake-ups across processes: PostgreSQL LISTEN/NOTIFY (``PgNotifier``).

Each test runs the notifier as a server process does (its listening thread, deliveries into
an asyncio loop) against a real PostgreSQL database; another connection plays the other server
process that stores events. The fallback poll is off (an hour) unless the test is about it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest
import sqlalchemy as sa

from server import migrations, notify
from server.db import create_db_engine
from server.notify import PgNotifier, parse_payload
from server.sites import load_site
from tests.conftest import PATIENCE
from tests.server.helpers import site_config

pytestmark = pytest.mark.postgres
NO_POLL = 3600.0
LONG = PATIENCE
"""How long a wake-up that must come may take (a loaded machine); never reached when it works."""
SHORT = 0.5
"""How long to watch for a wake-up that must not come."""


@pytest.fixture
def engine(postgres_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(postgres_url)
    migrations.migrate(engine)
    yield engine
    engine.dispose()


def stored(engine: sa.Engine, site: str, seq: int, *, commit: bool = True) -> None:
    """What another server process does when it stores events of ``site`` up to ``seq``."""
    with engine.connect() as conn:
        tx = conn.begin()
        notify.announce(conn, site, seq)
        if commit:
            tx.commit()
        else:
            tx.rollback()


def run(
    url: str, scenario: Callable[[PgNotifier], Awaitable[None]], poll_seconds: float = NO_POLL
) -> None:
    async def main() -> None:
        notifier = PgNotifier(url, poll_seconds=poll_seconds, retry_seconds=(0.05, 0.2))
        notifier.start(asyncio.get_running_loop())
        try:
            assert await asyncio.to_thread(notifier.listening.wait, LONG)
            await scenario(notifier)
        finally:
            await asyncio.to_thread(notifier.close)

    asyncio.run(main())


def test_payload_names_site_and_seq() -> None:
    assert parse_payload("mairie 42") == ("mairie", 42)
    assert parse_payload("mairie") is None
    assert parse_payload("mairie x") is None


def test_a_committed_event_wakes_the_subscribers_of_its_site_only(
    postgres_url: str, engine: sa.Engine
) -> None:
    async def scenario(notifier: PgNotifier) -> None:
        mine, other = notifier.subscribe("s1"), notifier.subscribe("s2")
        mine.arm()
        other.arm()
        await asyncio.to_thread(stored, engine, "s1", 5)
        assert await mine.wait(LONG)
        assert not await other.wait(SHORT)

    run(postgres_url, scenario)


def test_a_rolled_back_transaction_wakes_nobody(postgres_url: str, engine: sa.Engine) -> None:
    async def scenario(notifier: PgNotifier) -> None:
        sub = notifier.subscribe("s1")
        sub.arm()
        await asyncio.to_thread(stored, engine, "s1", 5, commit=False)
        assert not await sub.wait(SHORT)
        await asyncio.to_thread(stored, engine, "s1", 5)
        assert await sub.wait(LONG)

    run(postgres_url, scenario)


def test_news_already_heard_from_this_process_wakes_once(
    postgres_url: str, engine: sa.Engine
) -> None:
    """GIVEN this process published seq 5 itself, WHEN the database echoes seq 5, THEN the
    subscribers are not woken again; seq 6 from elsewhere wakes them."""

    async def scenario(notifier: PgNotifier) -> None:
        sub = notifier.subscribe("s1")
        sub.arm()
        notifier.publish("s1", 5)
        assert await sub.wait(LONG)
        sub.arm()
        await asyncio.to_thread(stored, engine, "s1", 5)
        assert not await sub.wait(SHORT)
        await asyncio.to_thread(stored, engine, "s1", 6)
        assert await sub.wait(LONG)

    run(postgres_url, scenario)


def listeners(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'guichet-listen'"
                )
            ).scalars()
        )


def test_a_lost_listening_connection_wakes_every_stream_and_comes_back(
    postgres_url: str, engine: sa.Engine
) -> None:
    async def scenario(notifier: PgNotifier) -> None:
        sub = notifier.subscribe("s1")
        [first] = await asyncio.to_thread(listeners, engine)
        sub.arm()
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        # Whatever was announced while nobody listened is unknown: every stream re-reads.
        assert await sub.wait(LONG)
        for _ in range(int(LONG / 0.05)):
            found = await asyncio.to_thread(listeners, engine)
            if found and found != [first]:
                break
            await asyncio.sleep(0.05)
        assert found and first not in found
        await asyncio.to_thread(notifier.listening.wait, LONG)
        sub.arm()
        await asyncio.to_thread(stored, engine, "s1", 9)
        assert await sub.wait(LONG)

    run(postgres_url, scenario)


def test_the_fallback_poll_wakes_a_site_whose_notification_was_lost(
    postgres_url: str, engine: sa.Engine
) -> None:
    """GIVEN a site whose last seq changes without any notification (one lost), THEN the poll
    of the subscribed sites' last seq wakes its streams; an unchanged site stays quiet."""
    load_site(engine, site_config("s1"))
    load_site(engine, site_config("s2"))

    async def scenario(notifier: PgNotifier) -> None:
        sub, quiet = notifier.subscribe("s1"), notifier.subscribe("s2")
        # The first poll learns both sites' seq (and wakes them, not knowing them yet).
        assert await sub.wait(LONG) and await quiet.wait(LONG)
        sub.arm()
        quiet.arm()
        polled = notifier.polls
        for _ in range(int(LONG / 0.05)):  # two more polls with nothing new
            if notifier.polls >= polled + 2:
                break
            await asyncio.sleep(0.05)
        assert notifier.polls >= polled + 2
        assert not sub.woken
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE sites SET last_seq = 7 WHERE id = 's1'"))
        assert await sub.wait(LONG)
        assert not quiet.woken

    run(postgres_url, scenario, poll_seconds=0.1)
