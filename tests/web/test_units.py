"""The web pages' pure parts: catalogs, formats, rate limits, the admin forms."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from config.site import SiteConfig
from server.ratelimit import Limit, TokenBuckets
from server.web import charts, format, i18n, siteforms
from server.web.siteforms import FormError
from tests.server.helpers import site_config

TEMPLATES = Path(__file__).resolve().parents[2] / "server" / "web" / "templates"
PYTHON = Path(__file__).resolve().parents[2] / "server" / "web"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "< 1 min"),
        (59.9, "< 1 min"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h 00"),
        (3900, "1 h 05"),
    ],
)
def test_durations(seconds: float | None, text: str) -> None:
    assert format.duration(seconds) == text


def test_public_estimate_rounds_up() -> None:
    assert format.estimate(30) == "< 1 min"
    assert format.estimate(61) == "2 min"
    assert format.estimate(3540.5) == "1 h 00"
    assert (format.minutes(680), format.share(2 / 3), format.share(None)) == ("11.3", "67 %", "—")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "fr",
            [
                "1 234,5",
                "11,3",
                "67 %",
                "10 mars 2026",
                "mardi",
                "09:00 – 10:00",
                "—",
                "14 h",
                "7,3",
                "13 %",
            ],
        ),
        (
            "en",
            [
                "1,234.5",
                "11.3",
                "67%",
                "Mar 10, 2026",
                "Tuesday",
                "9:00 – 10:00 AM",
                "—",
                "2:00 PM",
                "7.3",
                "13%",
            ],
        ),
        (
            "ar",
            [
                "1,234.5",
                "11.3",
                "67%",
                "10\u200f/03\u200f/2026",
                "الثلاثاء",
                "9:00–10:00 ص",
                "—",
                "2:00 م",
                "7.3",
                "13%",
            ],
        ),
    ],
)
def test_numbers_and_dates_are_written_the_pages_language_way(
    lang: str, expected: list[str]
) -> None:
    loc = format.Localized(lang)
    got = [
        loc.number(1234.5, 1),
        loc.minutes(680),
        loc.share(2 / 3),
        loc.day(date(2026, 3, 10)),
        loc.weekday(date(2026, 3, 10)),
        loc.hour_range(9),
        loc.minutes(None),
        loc.hour(14),
        loc.minutes(435),  # 7.25 min: halves round up, as by hand
        loc.share(0.125),
    ]
    assert [" ".join(re.sub(r"[\u202f\u2009\xa0]", " ", g).split()) for g in got] == expected


@pytest.mark.parametrize(
    ("top", "whole", "ticks"),
    [
        (159.0, False, [0, 20, 40, 60, 80, 100, 120, 140, 160]),
        (140.0, False, [0, 20, 40, 60, 80, 100, 120, 140]),
        (7.3, False, [0, 1, 2, 3, 4, 5, 6, 7, 8]),
        (0.5, False, [0, 0.1, 0.2, 0.3, 0.4, 0.5]),
        (0.5, True, [0, 1]),
        (173, True, [0, 50, 100, 150, 200]),
        (0, True, [0, 1]),
    ],
)
def test_a_charts_value_axis_ends_on_a_round_tick_above_the_highest_value(
    top: float, whole: bool, ticks: list[float]
) -> None:
    """A 159-minute wait is drawn under a labelled 160, not above the last label (140)."""
    assert charts.axis_ticks(top, whole=whole) == pytest.approx(ticks)


@pytest.mark.parametrize("values", [[], [None, None], [0.0]])
def test_a_chart_without_data_says_so(values: list[float | None]) -> None:
    """A period without any ticket (or without any wait) draws charts that say "no data"."""
    days = ["1 mars", "2 mars"][: len(values)]
    tickets = charts.tickets_per_day(
        days, {"A": [0] * len(values)} if values else {}, title="t", no_data="Aucune donnée"
    )
    waits = charts.waiting_per_day(
        days,
        {"A": values} if values else {},
        {"A": values} if values else {},
        title="t",
        median_label=str,
        p90_label=str,
        no_data="Aucune donnée",
    )
    assert "<svg" in tickets and "<svg" in waits
    if values != [0.0]:
        assert "Aucune donnée" in waits


def test_token_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    now = [1000.0]
    buckets = TokenBuckets(Limit(burst=3, per_second=0.5), clock=lambda: now[0])
    assert [buckets.allow("a") for _ in range(4)] == [True, True, True, False]
    assert buckets.allow("b"), "each client has its own bucket"
    assert buckets.retry_after("a") == 2
    now[0] += 2.0
    assert buckets.has("a") and buckets.allow("a") and not buckets.allow("a")


def test_token_buckets_forget_the_oldest_clients_past_their_bound() -> None:
    buckets = TokenBuckets(Limit(burst=1, per_second=0.001), max_clients=2, clock=lambda: 0.0)
    assert buckets.allow("a") and buckets.allow("b") and buckets.allow("c")
    assert buckets.allow("a"), "a was forgotten (full again)"
    assert not buckets.allow("c")


def form(**values: str) -> dict[str, str]:
    return values


def test_a_service_form_becomes_a_valid_site_configuration() -> None:
    cfg = site_config()
    raw = siteforms.parse_service(
        form(
            id="social",
            prefix="s",
            name_fr="Social",
            name_en="",
            hours_mon="08:30-12:00; 13:30 - 17:00",
            mean_service_minutes="7,5",
            priority_allowed="1",
        ),
        ["fr", "en"],
        None,
    )
    new = siteforms.save_service(cfg, raw, new=True)
    social = next(s for s in new.services if s.id == "social")
    assert (social.prefix, social.names, social.mean_service_minutes) == (
        "S",
        {"fr": "Social"},
        7.5,
    )
    assert social.hours == {"mon": ["08:30-12:00", "13:30-17:00"]}
    assert social.priority_allowed
    assert siteforms.service_values(social)["hours"] == {"mon": "08:30-12:00, 13:30-17:00"}


@pytest.mark.parametrize(
    ("values", "field", "key"),
    [
        (form(id="x", prefix="A", name_fr="X"), "prefix", "admin.err.prefix_taken"),  # civil's
        (form(id="civil", prefix="Z", name_fr="X"), "id", "admin.err.id_taken"),
        (form(id="Bad Id", prefix="Z", name_fr="X"), "id", "admin.err.id"),
        (form(id="x", prefix="Z", name_fr=""), "name_fr", "admin.err.name_needed"),
        (
            form(id="x", prefix="Z", name_fr="X", hours_tue="25:00-26:00"),
            "hours_tue",
            "admin.err.period",
        ),
        (form(id="x", prefix="Z", name_fr="X", hours_wed="9-12"), "hours_wed", "admin.err.period"),
        (
            form(id="x", prefix="Z", name_fr="X", mean_service_minutes="soon"),
            "mean_service_minutes",
            "admin.err.mean",
        ),
        (
            form(id="x", prefix="Z", name_fr="X", mean_service_minutes="999"),
            "mean_service_minutes",
            "admin.err.mean",
        ),
    ],
)
def test_an_invalid_service_form_names_its_field(
    values: dict[str, str], field: str, key: str
) -> None:
    cfg = site_config()
    with pytest.raises(FormError) as refused:
        raw = siteforms.parse_service(values, ["fr", "en"], None)
        siteforms.save_service(cfg, raw, new=True)
    assert (refused.value.field, refused.value.key) == (field, key)
    assert i18n.translate("en", key) != key


def test_counters_keep_the_ranked_order_and_a_service_in_use_cannot_go() -> None:
    cfg = site_config(counters=2)
    raw = siteforms.parse_counter(
        form(id="9", label="Bureau 9", rank_civil="2", rank_passports="1"),
        ["civil", "passports"],
        None,
    )
    assert raw["services"] == ["passports", "civil"]
    new = siteforms.save_counter(cfg, raw, new=True)
    assert new.counters[-1].services == ["passports", "civil"]
    with pytest.raises(FormError, match=r"admin\.err\.tick_service"):
        siteforms.parse_counter(form(id="8", label="x"), [], None)
    only_civil = SiteConfig.model_validate(
        {
            **cfg.model_dump(mode="json"),
            "counters": [{"id": "1", "label": "G1", "services": ["civil"]}],
        }
    )
    with pytest.raises(FormError, match=r"admin\.err\.counter_needs_service"):
        siteforms.delete_service(only_civil, "civil")
    assert [s.id for s in siteforms.delete_service(cfg, "civil").services] == ["passports"]


def test_devices_are_added_with_their_offline_range_and_removed() -> None:
    cfg = site_config()
    new, device = siteforms.add_device(cfg, form(id="kiosk-c", role="kiosk", offline_range="50-60"))
    assert device.offline_range == (50, 60)
    with pytest.raises(FormError, match=r"admin\.err\.range_overlap"):
        siteforms.add_device(cfg, form(id="kiosk-d", role="kiosk", offline_range="40-55"))
    with pytest.raises(FormError, match=r"offline_range: admin\.err\.range "):
        siteforms.add_device(cfg, form(id="kiosk-d", role="kiosk", offline_range="lots"))
    assert "kiosk-c" not in {d.id for d in siteforms.remove_device(new, "kiosk-c").devices}


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


CSS = (PYTHON / "static" / "guichet.css").read_text()
VARS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", CSS))
TEXT_ON_BACKGROUND = [
    ("ink", "paper"),
    ("ink", "canvas"),
    ("muted", "paper"),
    ("muted", "canvas"),
    ("primary", "paper"),
    ("primary-dark", "primary-soft"),
    ("success", "success-soft"),
    ("danger", "danger-soft"),
    ("warning", "warning-soft"),
    ("danger", "paper"),
    ("success", "paper"),
]


@pytest.mark.parametrize(("fg", "bg"), TEXT_ON_BACKGROUND)
def test_page_colours_have_a_contrast_of_at_least_4_5(fg: str, bg: str) -> None:
    assert contrast(VARS[fg], VARS[bg]) >= 4.5


def test_white_on_buttons_and_heatmap_steps_and_chart_colours_reach_4_5() -> None:
    assert contrast("#ffffff", VARS["primary"]) >= 4.5
    assert contrast("#ffffff", VARS["success"]) >= 4.5  # "it's your turn" banner
    steps = re.findall(r"heat-\d \{ background: (#[0-9a-f]{6}); color: ([^;]+);", CSS)
    assert len(steps) == 6
    for background, colour in steps:
        ink = VARS[colour.strip()[6:-1]] if colour.startswith("var(") else colour.strip()
        assert contrast(ink, background) >= 4.5, background
    from server.web.charts import PALETTE

    assert all(contrast(c, "#ffffff") >= 4.5 for c in PALETTE)


def test_editing_a_service_keeps_its_kiosk_category(tmp_path: Path) -> None:
    """The admin form does not edit categories (set in the site file): saving a service
    keeps the one it had."""
    from config.loader import load_model
    from tests.sites import big_site

    cfg = load_model(SiteConfig, big_site(tmp_path / "site.toml", 4, categories=True))
    old = cfg.services[1]
    form = {"name_fr": "CCAS", "name_en": "Social", "prefix": old.prefix}
    raw = siteforms.parse_service(form, ["fr", "en"], old)
    saved = siteforms.save_service(cfg, raw, new=False)
    assert saved.services[1].names["fr"] == "CCAS"
    assert saved.services[1].category == old.category == "famille"
