"""A device's clock epochs (tickets/epochs.py) and the journal keeping them."""

from __future__ import annotations

from pathlib import Path

from tickets.epochs import ClockEpochs, Epoch, Reading, machine_boot_id, machine_monotonic
from tickets.events import EventKind
from tickets.journal import Journal

HOUR = 3600.0


class Machine:
    """Wall and monotonic clocks the test moves, and a boot id."""

    def __init__(self) -> None:
        self.true, self.skew, self.booted, self.boot = 1_800_000_000.0, 0.0, 1_800_000_000.0, "a"

    def wall(self) -> float:
        return self.true + self.skew

    def monotonic(self) -> float:
        return self.true - self.booted

    def journal(self, path: Path) -> Journal:
        return Journal(
            path, "site", "kiosk-1", wall=self.wall, monotonic=self.monotonic, boot_id=self.boot
        )


def test_a_step_found_in_a_run_links_the_epochs_and_keeps_the_time_going() -> None:
    epochs = ClockEpochs()
    assert epochs.opened("a", 1000.0, 10.0, 0, None) is None  # the first start: unknown
    epochs.measured(-50.0)
    assert epochs.check(1100.0, 110.0) is None  # 100 s on both clocks: no step
    assert epochs.check(1201.5, 210.0) is None  # 1.5 s: within the bound
    assert epochs.check(-2000.0, 211.0) == -3202.5  # NTP stepped the clock back
    assert epochs.place(5)
    assert epochs.epoch_of(5) == 1 and epochs.epoch_of(6) == 2
    # The earlier epoch's error is the later one's plus the step: read without measuring.
    assert epochs.reading(1) == Reading(-3202.5)
    assert epochs.reading(2) == Reading(0.0)


def test_after_a_reboot_the_epochs_are_linked_by_what_syncs_measured() -> None:
    epochs = ClockEpochs()
    epochs.opened("a", 1000.0, 10.0, 0, None)
    epochs.measured(0.0)
    assert epochs.opened("b", 90_000.0, 3.0, 7, 0.0) is None  # another boot: step unknown
    assert epochs.reading(1) == Reading(None, measure_first=True)
    epochs.measured(-86_000.0)
    assert epochs.reading(1) == Reading(86_000.0)
    never = ClockEpochs([Epoch(0, 0), Epoch(1, 3, -5.0)])
    assert never.reading(0) == Reading(None)  # never measured, linked to nothing


def test_a_restart_on_the_same_boot_continues_the_epoch_or_measures_the_step() -> None:
    epochs = ClockEpochs()
    epochs.opened("a", 1000.0, 10.0, 0, None)
    assert epochs.opened("a", 1500.0, 510.0, 4, None) == 0.0
    assert len(epochs.epochs) == 2
    assert epochs.opened("a", 5600.0, 610.0, 4, None) == 4000.0
    assert epochs.epochs[-1] == Epoch(2, 4, None, 4000.0)
    again = ClockEpochs.load(epochs.dump())
    assert again == epochs


def test_forgetting_old_epochs_keeps_the_errors_they_gave() -> None:
    epochs = ClockEpochs([Epoch(0, 0, 10.0), Epoch(1, 4, None, 5.0), Epoch(2, 9, None, None)])
    epochs.forget_before(6)
    assert epochs.epochs == [Epoch(1, 4, 5.0, 5.0), Epoch(2, 9, None, None)]


def test_the_machine_boot_id(tmp_path: Path) -> None:
    f = tmp_path / "boot_id"
    assert machine_boot_id(f) is None
    f.write_text("8960e09a-090f-4370-ae02-b5ecf669fa8f\n")
    assert machine_boot_id(f) == "8960e09a-090f-4370-ae02-b5ecf669fa8f"


def test_the_journal_keeps_its_time_across_a_step_and_uploads_by_epoch(tmp_path: Path) -> None:
    """GIVEN a journal whose clock a sync found 1 h ahead WHEN NTP steps it back 1 h between
    two events THEN its time goes on without a jump, and its outbox comes in two batches: the
    first with the reading of the clock it was made on (1 h ahead), then the second."""
    m = Machine()
    m.skew = HOUR
    with m.journal(tmp_path / "j.sqlite3") as j:
        j.adjust_clock(-HOUR)
        first = j.record(EventKind.COUNTER_OPENED, counter="1")
        before = j.now()
        m.true += 60
        m.skew = 0.0
        assert abs(j.now() - (before + 60)) < 1e-6
        second = j.record(EventKind.COUNTER_CLOSED, counter="1")
        assert second.hlc > first.hlc
        events, reading, later = j.upload_batch()
        assert [e.id for e in events] == [first.id] and later
        assert reading == Reading(-HOUR)
        j.acknowledge([first.id])
        events, reading, later = j.upload_batch()
        assert [e.id for e in events] == [second.id] and not later
        assert reading == Reading(0.0)


def test_a_journal_reopened_after_a_reboot_begins_an_epoch(tmp_path: Path) -> None:
    m = Machine()
    path = tmp_path / "j.sqlite3"
    with m.journal(path) as j:
        j.adjust_clock(0.0)
        made = j.record(EventKind.COUNTER_OPENED, counter="1")
    m.true += 600
    with m.journal(path) as j:  # a restart of the program: the same epoch
        assert j.upload_batch() == ([made], Reading(0.0), False)
    m.true += 600
    m.booted, m.boot, m.skew = m.true, "b", 5 * HOUR
    with m.journal(path) as j:  # a reboot on a clock 5 h ahead
        events, reading, _ = j.upload_batch()
        assert events == [made] and reading.measure_first
        j.adjust_clock(-5 * HOUR)
        assert j.upload_batch() == ([made], Reading(5 * HOUR), False)


def test_ntp_stepping_a_clock_nobody_measured_is_believed(tmp_path: Path) -> None:
    """GIVEN a journal rebooted on a clock saved 2 h behind, not synced since (its time goes on
    from its floor) WHEN NTP steps the clock to the right time THEN its time is NTP's (with the
    offset last measured), not the floor's guess carried on."""
    m = Machine()
    path = tmp_path / "j.sqlite3"
    with m.journal(path) as j:
        j.adjust_clock(0.0)
    m.true += 600
    m.booted, m.boot, m.skew = m.true, "b", -2 * HOUR
    with m.journal(path) as j:
        assert j.now() >= j.time_floor() > m.wall()
        m.true += 60
        m.skew = 0.0
        assert j.now() == m.true


def test_the_machine_monotonic_clock_runs() -> None:
    assert machine_monotonic() <= machine_monotonic()


def test_epochs_no_waiting_event_belongs_to_are_forgotten(tmp_path: Path) -> None:
    m = Machine()
    with m.journal(tmp_path / "j.sqlite3") as j:
        j.adjust_clock(0.0)
        made = j.record(EventKind.COUNTER_OPENED, counter="1")
        m.true += 60
        m.skew = HOUR
        j.record(EventKind.COUNTER_CLOSED, counter="1")
        assert j.upload_batch()[0] == [made]
        j.acknowledge([made.id])
        j.upload_batch()
        assert j.upload_batch()[1:] == (Reading(0.0), False)
        assert len(ClockEpochs.load(j._meta("journal.clock_epochs")).epochs) == 1
