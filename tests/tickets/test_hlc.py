"""The hybrid logical clock: monotonic, causal, and a total order even with wrong wall clocks."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.hlc import HybridClock, Timestamp


class Wall:
    """A wall clock the test sets."""

    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.floats(1e9, 2e9), min_size=1, max_size=60))
def test_now_is_strictly_increasing_even_when_the_wall_clock_goes_back(walls: list[float]) -> None:
    wall = Wall()
    clock = HybridClock("kiosk", wall)
    stamps = []
    for t in walls:
        wall.t = t
        stamps.append(clock.now())
    assert all(a < b for a, b in itertools.pairwise(stamps))
    encoded = [s.encode() for s in stamps]
    assert encoded == sorted(encoded)
    assert len(set(encoded)) == len(encoded)


NODES = st.one_of(
    st.text(st.characters(codec="utf-8", min_codepoint=33), min_size=1, max_size=12),
    st.sampled_from(("a", "a-b", "kiosk-entree", "board", "z")),
)
STAMPS = st.builds(Timestamp, st.integers(0, 10**15 - 1), st.integers(0, 999_999), NODES)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STAMPS, STAMPS)
def test_encoded_text_sorts_like_the_clock_and_decodes_back(a: Timestamp, b: Timestamp) -> None:
    assert Timestamp.decode(a.encode()) == a
    assert Timestamp.decode(b.encode()) == b
    assert (a < b) == (a.encode() < b.encode())
    # SQLite compares text as UTF-8 bytes: same order.
    assert (a < b) == (a.encode().encode() < b.encode().encode())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "000000000000001-000000",
        "1-000000-a",
        "000000000000001-0000001-a",
        "00000000000000x-000000-a",
        "0000000000001_0-000000-a",
        "+00000000000001-000000-a",
    ],
)
def test_decode_refuses_what_is_not_a_clock_value(text: str) -> None:
    with pytest.raises(ValueError, match="not a clock value"):
        Timestamp.decode(text)


@pytest.mark.parametrize("node", ["", "kiosk 1", "a\tb"])
def test_a_node_name_must_be_a_word(node: str) -> None:
    with pytest.raises(ValueError, match="bad clock node name"):
        HybridClock(node)


def test_after_receive_now_is_later_than_the_remote_time() -> None:
    wall = Wall(1000.0)
    clock = HybridClock("board", wall)
    remote = Timestamp(5_000_000, 3, "kiosk")  # a device more than an hour ahead
    clock.receive(remote)
    nxt = clock.now()
    assert nxt > remote
    assert (nxt.millis, nxt.logical) == (5_000_000, 5)
    # The wall clock catching up takes over again.
    wall.t = 6000.0
    assert clock.now() == Timestamp(6_000_000, 0, "board")


def test_a_restarted_clock_continues_after_the_last_journaled_time() -> None:
    last = Timestamp(9_000_000, 7, "other")
    clock = HybridClock("board", Wall(10.0), last=last)  # wall clock back to 1970 after a cut
    assert clock.now() > last
    assert clock.latest_seconds() == 9000.0


def test_the_logical_part_never_overflows_its_width() -> None:
    wall = Wall(1.0)
    clock = HybridClock("kiosk", wall, last=Timestamp(1000, 999_998, "kiosk"))
    a, b, c = clock.now(), clock.now(), clock.now()
    assert a < b < c
    assert (b.millis, b.logical) == (1001, 0)
    for t in (a, b, c):
        assert Timestamp.decode(t.encode()) == t
    clock.receive(Timestamp(5000, 999_999, "far"))
    d = clock.now()
    assert d > Timestamp(5000, 999_999, "far")
    assert Timestamp.decode(d.encode()) == d


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False), st.integers(5, 80))
def test_skewed_devices_still_get_a_total_order_consistent_with_causality(
    rnd: random.Random, steps: int
) -> None:
    """GIVEN a server on time, a kiosk an hour ahead and a board a day behind, exchanging
    messages at random
    WHEN each stamps local events and receives the others' stamps
    THEN every stamp is unique, and an event that happened before another (same device
    earlier, or sent before being received) has a smaller stamp."""
    real = [1_700_000_000.0]
    skew = {"server": 0.0, "kiosk": 3600.0, "board": -86400.0}

    def wall(node: str) -> Callable[[], float]:
        return lambda: real[0] + skew[node]

    clocks = {n: HybridClock(n, wall(n)) for n in skew}
    history: dict[str, list[int]] = {n: [] for n in skew}  # event indexes per device
    stamps: list[Timestamp] = []
    before: set[tuple[int, int]] = set()  # direct happened-before pairs
    inflight: list[tuple[int, str]] = []
    for _ in range(steps):
        real[0] += rnd.choice((0.0, 0.0005, 0.2, 30.0))
        node = rnd.choice(list(skew))
        if inflight and rnd.random() < 0.4:
            sent, target = inflight.pop(rnd.randrange(len(inflight)))
            clocks[target].receive(stamps[sent])
            node = target
            stamps.append(clocks[node].now())
            before.add((sent, len(stamps) - 1))
        else:
            stamps.append(clocks[node].now())
            if rnd.random() < 0.5:
                inflight.append((len(stamps) - 1, rnd.choice([n for n in skew if n != node])))
        if history[node]:
            before.add((history[node][-1], len(stamps) - 1))
        history[node].append(len(stamps) - 1)
    assert len(set(stamps)) == len(stamps)
    for a, b in before:
        assert stamps[a] < stamps[b]


def test_a_bounded_clock_does_not_follow_a_stamp_beyond_its_bound() -> None:
    wall = Wall(1000.0)
    clock = HybridClock("board", wall, max_ahead=60.0)
    assert clock.receive(Timestamp(1_059_000, 4, "kiosk"))
    assert clock.now() == Timestamp(1_059_000, 6, "board")
    assert not clock.receive(Timestamp(1_000_000 + 3 * 86_400_000, 0, "kiosk"))
    assert clock.now().millis == 1_059_000, "three days ahead: not followed"
    assert clock.receive(Timestamp(1_000_000 + 86_400_000, 0, "server"), trusted=True)
    assert clock.now().millis == 1_000_000 + 86_400_000


def test_rewind_brings_a_clock_that_ran_ahead_back_to_its_wall_clock() -> None:
    """A device that stamped with a clock a day ahead, corrected at its next sync: its next
    stamps follow the corrected clock, not its stamps made ahead (the server re-stamps those)."""
    wall = Wall(1000.0 + 86_400)
    clock = HybridClock("kiosk", wall, max_ahead=60.0)
    ahead = clock.now()
    wall.t = 1000.0
    assert not HybridClock("kiosk", wall).rewind(), "an unbounded clock never rewinds"
    assert clock.rewind()
    assert clock.now() == Timestamp(1_000_000, 1, "kiosk") < ahead
    wall.t = 1030.0
    assert not clock.rewind(), "within its bound: no rewind"
