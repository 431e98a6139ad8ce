"""Announcements: chime and voice made offline, played in order, whole, never two at once."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from config.display import AudioSettings
from display import wav
from display.audio import (
    AnnouncementQueue,
    AudioState,
    detect_player,
    in_periods,
    make_announcement,
    speak_to_wav,
    spoken_ticket,
)
from tests.conftest import PATIENCE, wait_until

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng missing")


def settings(tmp_path: Path, **kw: object) -> AudioSettings:
    return AudioSettings.model_validate({"cache_dir": tmp_path / "cache", **kw})


class SlowPlayer:
    """Records when each file starts and ends playing; each "plays" for ``seconds``."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.spans: list[tuple[str, float, float]] = []
        self.playing = 0
        self.overlaps = 0
        self.lock = threading.Lock()

    def __call__(self, path: Path) -> None:
        with self.lock:
            self.playing += 1
            self.overlaps += self.playing > 1
        start = time.monotonic()
        assert wav.duration(path) > 0
        time.sleep(self.seconds)
        with self.lock:
            self.playing -= 1
        self.spans.append((path.name, start, time.monotonic()))


def test_the_ticket_is_spoken_as_letters_then_number_in_each_language() -> None:
    assert spoken_ticket("A042") == "A 42"
    assert spoken_ticket("AB1005") == "AB 1005"
    assert spoken_ticket("B100") == "B 100"
    item = make_announcement(
        "ev1",
        "A042",
        "3",
        "Guichet 3",
        ["fr", "en"],
        AudioSettings().templates,
    )
    assert item.phrases == (("fr", "Ticket A 42, Guichet 3"), ("en", "Ticket A 42, counter 3"))


@needs_espeak
def test_espeak_makes_a_non_empty_wav(tmp_path: Path) -> None:
    out = tmp_path / "fr.wav"
    speak_to_wav("Ticket A 42, guichet 3", "fr-fr", 150, out)
    samples, rate = wav.read_wav(out)
    assert rate > 8000
    assert len(samples) / rate > 0.8  # about two seconds of speech
    assert max(abs(s) for s in samples) > 1000  # not silence


def test_the_chime_is_a_few_seconds_of_sound_cached_on_disk(tmp_path: Path) -> None:
    q = AnnouncementQueue(settings(tmp_path), player=None, state=AudioState.NO_AUDIO)
    path = q.chime_path()
    assert path.parent == tmp_path / "cache"
    samples, rate = wav.read_wav(path)
    assert rate == wav.RATE
    assert 1.5 < len(samples) / rate < 4
    assert max(abs(s) for s in samples) > 20000
    assert abs(samples[-1]) < 500  # rings out, no click at the end
    mtime = path.stat().st_mtime_ns
    again = AnnouncementQueue(settings(tmp_path), player=None, state=AudioState.NO_AUDIO)
    assert again.chime_path() == path and path.stat().st_mtime_ns == mtime


@needs_espeak
def test_an_announcement_is_chime_then_each_language_at_the_set_volume(tmp_path: Path) -> None:
    loud = AnnouncementQueue(settings(tmp_path, volume=100), player=None, state=AudioState.NO_AUDIO)
    soft = AnnouncementQueue(settings(tmp_path, volume=25), player=None, state=AudioState.NO_AUDIO)
    item = make_announcement("k", "A042", "3", "Guichet 3", ["fr", "en"], AudioSettings().templates)
    chime = len(wav.read_wav(loud.chime_path())[0])
    one = make_announcement("k", "A042", "3", "Guichet 3", ["fr"], AudioSettings().templates)
    both, _ = wav.read_wav(loud.compose(item))
    fr_only, _ = wav.read_wav(loud.compose(one))
    quiet, _ = wav.read_wav(soft.compose(item))
    assert len(fr_only) > chime + wav.RATE  # chime, then at least a second of French
    assert len(both) > len(fr_only) + wav.RATE  # and then English
    assert max(quiet) < max(both) * 0.3
    loud.stop()
    soft.stop()


def test_announcements_play_in_order_one_at_a_time_and_a_recall_plays_again(
    tmp_path: Path,
) -> None:
    player = SlowPlayer()
    q = AnnouncementQueue(settings(tmp_path, chime=True), player=player, state=AudioState.AVAILABLE)
    q.compose = lambda item: _tiny_wav(tmp_path, item.key)  # type: ignore[method-assign]
    q.start()
    keys = ["call-A001", "call-B001", "call-A002", "recall-A001"]
    for k in keys:
        q.announce(make_announcement(k, "A001", "1", "Guichet 1", ["fr"], {}))
    assert q.idle(PATIENCE)
    q.stop()
    assert q.played == keys
    assert [name for name, _, _ in player.spans] == [f"{k}.wav" for k in keys]
    assert player.overlaps == 0
    for (_, _, end), (_, start, _) in zip(player.spans, player.spans[1:], strict=False):
        assert start >= end  # the next one starts after the previous one ended


def test_quiet_hours_skip_the_sound_not_the_call(tmp_path: Path) -> None:
    player = SlowPlayer(0)
    noon = datetime(2026, 11, 24, 12, 30)
    q = AnnouncementQueue(
        settings(tmp_path, quiet_hours=["12:15-13:15"]),
        player=player,
        state=AudioState.AVAILABLE,
        site_now=lambda: noon,
    )
    q.start()
    q.announce(make_announcement("k1", "A001", "1", "Guichet 1", ["fr"], {}))
    assert q.idle(PATIENCE)
    q.stop()
    assert q.skipped == ["k1"] and q.played == [] and player.spans == []


def test_quiet_periods_may_span_midnight() -> None:
    from datetime import time as t

    assert in_periods(t(23, 30), ["19:30-07:00"])
    assert in_periods(t(6, 59), ["19:30-07:00"])
    assert not in_periods(t(7, 0), ["19:30-07:00"])
    assert in_periods(t(23, 59, 59), ["19:30-24:00"])
    assert not in_periods(t(12, 0), [])


def test_without_a_sound_device_the_board_is_silent_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    player, state, reason = detect_player(settings(tmp_path))
    assert player is None and state is AudioState.NO_AUDIO and "no audio" in reason
    player, state, _ = detect_player(settings(tmp_path, enabled=False))
    assert player is None and state is AudioState.DISABLED
    q = AnnouncementQueue(settings(tmp_path))
    q.start()
    q.announce(make_announcement("k1", "A001", "1", "Guichet 1", ["fr"], {}))
    assert q.idle(PATIENCE)
    q.stop()
    assert q.health() == "no audio" and q.played == ["k1"]


@needs_espeak
@pytest.mark.skipif(shutil.which("aplay") is None, reason="aplay (alsa-utils) missing")
def test_aplay_plays_a_real_announcement_through_alsa(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The player program for real: ALSA's null device accepts the sound and discards it."""
    monkeypatch.delenv("SDL_AUDIODRIVER", raising=False)
    q = AnnouncementQueue(settings(tmp_path, player="aplay", device="null"))
    assert q.state is AudioState.AVAILABLE
    q.start()
    q.announce(make_announcement("k1", "A042", "3", "Guichet 3", ["fr"], {}))
    assert q.idle(PATIENCE)
    q.stop()
    assert q.played == ["k1"] and q.health() == "available"


@pytest.mark.skipif(shutil.which("aplay") is None, reason="aplay (alsa-utils) missing")
def test_a_failing_sound_device_is_an_error_state_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SDL_AUDIODRIVER", raising=False)
    q = AnnouncementQueue(settings(tmp_path, player="aplay", device="hw:97,0", chime=False))
    q.compose = lambda item: _tiny_wav(tmp_path, item.key)  # type: ignore[method-assign]
    q.start()
    q.announce(make_announcement("k1", "A001", "1", "Guichet 1", ["fr"], {}))
    q.announce(make_announcement("k2", "A002", "1", "Guichet 1", ["fr"], {}))
    assert q.idle(PATIENCE)
    q.stop()
    assert q.played == ["k1", "k2"]
    assert q.health().startswith("error: aplay failed")


def _tiny_wav(folder: Path, key: str) -> Path:
    path = folder / f"{key}.wav"
    wav.write_wav(path, wav.silence(0.01))
    return path


def test_a_burst_keeps_the_newest_announcements(tmp_path: Path) -> None:
    """GIVEN the player busy WHEN more calls arrive than the queue holds
    THEN the oldest waiting ones are dropped (logged), the newest are all played."""
    from display.audio import MAX_PENDING

    gate = threading.Event()
    played: list[str] = []

    def player(path: Path) -> None:
        gate.wait(PATIENCE)
        played.append(path.stem)

    q = AnnouncementQueue(settings(tmp_path), player=player, state=AudioState.AVAILABLE)
    q.compose = lambda item: _tiny_wav(tmp_path, item.key)  # type: ignore[method-assign]
    q.start()
    q.announce(make_announcement("first", "A001", "1", "Guichet 1", ["fr"], {}))
    assert wait_for_playing(q)
    keys = [f"k{i:02d}" for i in range(MAX_PENDING + 5)]
    for k in keys:
        q.announce(make_announcement(k, "A001", "1", "Guichet 1", ["fr"], {}))
    gate.set()
    assert q.idle(PATIENCE)
    q.stop()
    assert played == ["first", *keys[5:]]
    assert q.skipped == keys[:5]


def wait_for_playing(q: AnnouncementQueue) -> bool:
    """True once the player thread has taken the first announcement off the queue."""
    return wait_until(lambda: q._queue.qsize() == 0)
