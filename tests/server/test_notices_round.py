"""The notices round (``server.notices.run_once``) at the scale of a fleet."""

from __future__ import annotations

import sqlalchemy as sa

from server.notices import run_once
from server.sites import load_site
from tests.server.helpers import Srv, site_config


def test_a_notices_round_reads_the_sites_in_one_statement(any_srv: Srv) -> None:
    """GIVEN a server holding several sites, WHEN the notices loop runs its round, THEN the
    sites' configurations are read in one statement whatever their number (a fleet's
    thousand sites, each process every round, cost one query, not a thousand), and a site
    whose configuration changed is read again."""
    ctx = any_srv.thread.ctx
    for n in range(5):
        load_site(any_srv.engine, site_config(f"other-{n}"))
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM sites" in statement:
            reads.append(statement)

    run_once(ctx, ctx.now())  # the sites parsed and held
    sa.event.listen(any_srv.engine, "before_cursor_execute", count)
    try:
        run_once(ctx, ctx.now())
        steady = len(reads)
        load_site(any_srv.engine, site_config("other-2", counters=3))  # a new version
        reads.clear()
        run_once(ctx, ctx.now())
        changed = len(reads)
    finally:
        sa.event.remove(any_srv.engine, "before_cursor_execute", count)
    assert steady == 1
    assert changed == 1 + 2  # the versions, then the changed site's version and configuration
    assert ctx.sites.cached("other-2", _version(any_srv, "other-2")) is not None


def _version(srv: Srv, site: str) -> str:
    with srv.engine.connect() as conn:
        return str(
            conn.execute(
                sa.text("SELECT config_version FROM sites WHERE id = :s"), {"s": site}
            ).scalar_one()
        )
