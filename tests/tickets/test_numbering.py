"""Ticket numbers: leases from the server, offline ranges, uniqueness, daily restart."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.numbering import Lease, NumberPool, NumbersExhausted, allocate_block

RESERVED = st.lists(
    st.tuples(st.integers(1, 200), st.integers(0, 30)).map(lambda p: (p[0], p[0] + p[1])),
    max_size=4,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RESERVED, st.lists(st.integers(1, 25), min_size=1, max_size=30))
def test_blocks_never_overlap_each_other_or_a_reserved_range(
    reserved: list[tuple[int, int]], sizes: list[int]
) -> None:
    next_free = 1
    taken: set[int] = set()
    for size in sizes:
        start, end, next_free = allocate_block(next_free, size, reserved)
        block = set(range(start, end + 1))
        assert 1 <= len(block) <= size
        assert next_free == end + 1
        assert not block & taken
        assert not any(lo <= n <= hi for n in block for lo, hi in reserved)
        taken |= block
    # Nothing is skipped except reserved numbers: blocks follow each other in order.
    top = max(taken)
    reserved_numbers = {n for lo, hi in reserved for n in range(lo, hi + 1)}
    assert set(range(1, top + 1)) - reserved_numbers == taken


def test_a_block_stops_before_a_reserved_range() -> None:
    assert allocate_block(1, 20, [(900, 999)]) == (1, 20, 21)
    assert allocate_block(890, 20, [(900, 999)]) == (890, 899, 900)
    assert allocate_block(900, 20, [(900, 999)]) == (1000, 1019, 1020)
    assert allocate_block(5, 3, [(5, 5), (6, 8)]) == (9, 11, 12)
    with pytest.raises(ValueError, match="at least one number"):
        allocate_block(1, 0, [])


SIM_STEP = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(("k1", "k2", "server")), st.sampled_from("ab")),
    st.tuples(st.just("sync"), st.sampled_from(("k1", "k2"))),
    st.tuples(st.just("link"), st.sampled_from(("k1", "k2"))),
    st.tuples(st.just("midnight")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SIM_STEP, min_size=20, max_size=120), st.integers(1, 8))
def test_numbers_are_unique_across_leases_offline_ranges_and_the_server(
    steps: list[tuple[str, ...]], block: int
) -> None:
    """GIVEN two kiosks with their own offline ranges, syncing when their link is up, and the
    server issuing tickets itself (agents' console)
    WHEN tickets are issued in any interleaving, across midnight
    THEN no two tickets of a service share a number the same day."""
    offline = {"k1": (6, 9), "k2": (12, 14)}
    reserved = list(offline.values())
    pools = {k: NumberPool(offline_range=rng) for k, rng in offline.items()}
    online = {"k1": True, "k2": True}
    next_free: dict[tuple[str, str], int] = {}
    day = 1
    issued: dict[tuple[str, str], list[int]] = {}

    def grant(kiosk: str, service: str, today: str) -> None:
        start, end, nxt = allocate_block(next_free.get((service, today), 1), block, reserved)
        next_free[(service, today)] = nxt
        pools[kiosk].grant(Lease(service, today, start, end))

    for step in steps:
        today = f"2026-11-{day:02d}"
        if step[0] == "midnight":
            day += 1
        elif step[0] == "link":
            online[step[1]] = not online[step[1]]
        elif step[0] == "sync" and online[step[1]]:
            for service in "ab":
                if pools[step[1]].needs_lease(service, today, block):
                    grant(step[1], service, today)
        elif step[0] == "issue":
            who, service = step[1], step[2]
            if who == "server":
                start, _, nxt = allocate_block(next_free.get((service, today), 1), 1, reserved)
                next_free[(service, today)] = nxt
                number = start
            else:
                try:
                    number, source = pools[who].take(service, today)
                except NumbersExhausted:
                    assert pools[who].remaining(service, today) == 0
                    continue
                lo, hi = offline[who]
                assert (source == "offline") == (lo <= number <= hi)
            issued.setdefault((service, today), []).append(number)
    for numbers in issued.values():
        assert len(numbers) == len(set(numbers))


def test_a_new_day_restarts_numbering() -> None:
    pool = NumberPool(offline_range=(900, 902))
    pool.grant(Lease("a", "2026-11-23", 1, 2))
    assert [pool.take("a", "2026-11-23")[0] for _ in range(3)] == [1, 2, 900]
    # The next day holds no lease yet: offline numbers start again from the range's start.
    assert pool.take("a", "2026-11-24") == (900, "offline")
    pool.grant(Lease("a", "2026-11-24", 1, 20))
    assert pool.take("a", "2026-11-24") == (1, "lease")
    pool.forget_before("2026-11-24")
    assert [lease.day for lease in pool.leases] == ["2026-11-24"]
    assert set(pool.offline_next) == {("a", "2026-11-24")}


@pytest.mark.parametrize("block", [1, 2, 5, 20, 21])
def test_needs_lease_once_less_than_half_a_block_remains(block: int) -> None:
    pool = NumberPool()
    assert pool.needs_lease("a", "d", block)  # nothing held
    pool.grant(Lease("a", "d", 1, block))
    flips = []
    for used in range(block + 1):
        flips.append(pool.needs_lease("a", "d", block))
        assert pool.remaining("a", "d") == block - used
        if used < block:
            pool.take("a", "d")
    first_true = flips.index(True)
    # remaining < block / 2 exactly from then on
    assert block - first_true < block / 2 <= block - first_true + 1
    assert all(flips[first_true:]) and not any(flips[:first_true])
    assert pool.needs_lease("b", "d", block) is not False  # another service holds nothing


def test_leases_are_used_lowest_first_then_offline_then_exhausted() -> None:
    pool = NumberPool(offline_range=(900, 901))
    pool.grant(Lease("a", "d", 21, 22))
    pool.grant(Lease("a", "d", 1, 2))
    pool.grant(Lease("a", "d", 1, 2))  # the same lease granted again counts once
    pool.grant(Lease("b", "d", 3, 3))
    assert pool.held("a", "d") == 4
    got = [pool.take("a", "d") for _ in range(6)]
    assert got == [
        (1, "lease"),
        (2, "lease"),
        (21, "lease"),
        (22, "lease"),
        (900, "offline"),
        (901, "offline"),
    ]
    with pytest.raises(NumbersExhausted, match="service 'a' on d"):
        pool.take("a", "d")
    assert pool.take("b", "d") == (3, "lease")
    with pytest.raises(NumbersExhausted):
        NumberPool().take("a", "d")


def test_a_moved_offline_range_never_issues_below_its_new_start() -> None:
    pool = NumberPool(offline_range=(100, 109))
    assert pool.take("a", "d") == (100, "offline")
    pool.offline_range = (500, 509)  # the site's configuration changed
    assert pool.take("a", "d") == (500, "offline")
