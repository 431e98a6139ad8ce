"""Ticket printer figures: bytes per ticket (58/80 mm, with and without a logo), time to build
a ticket's ESC/POS bytes (median, p99), the implied transfer time on a serial line at 9600 and
115200 baud (10 bits a byte), and the time the virtual printer takes to render one ticket.

Run: .venv/bin/python bench/bench_printer.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw

from printer.ticket import TicketContent, load_logo, render_ticket
from printer.virtual import VirtualPrinter

CONTENT = TicketContent(
    site_name="Mairie de Saint-Exemple",
    label="A042",
    service_name="État civil",
    service_name_2="Civil status",
    issued_at=datetime(2026, 11, 23, 14, 5, tzinfo=ZoneInfo("Europe/Paris")),
    people_ahead=3,
    wait_minutes=12,
    follow_url="https://guichet.mairie-saint-exemple.fr/suivi/mairie/7Hq2xK9pLm3N",
    footer="Merci de votre visite - à bientôt",
)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: object, runs: int) -> list[float]:
    assert callable(fn)
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        logo_file = Path(tmp) / "logo.png"
        logo = Image.new("L", (384, 96), 255)
        ImageDraw.Draw(logo).ellipse((4, 4, 92, 92), outline=0, width=8)
        ImageDraw.Draw(logo).rectangle((110, 30, 370, 66), fill=0)
        logo.save(logo_file)

        print("bytes per ticket, build time (2000 runs), serial transfer time")
        print(f"{'ticket':<22}{'bytes':>7}{'median ms':>11}{'p99 ms':>9}{'9600 Bd s':>11}"
              f"{'115200 Bd s':>13}")  # fmt: skip
        for paper_mm in (58, 80):
            fitted = load_logo(logo_file, paper_mm)
            for name, kwargs in (("no logo", {}), ("logo 384x96", {"logo": fitted})):
                data = render_ticket(CONTENT, paper_mm, **kwargs)
                samples = timed(lambda: render_ticket(CONTENT, paper_mm, **kwargs), 2000)  # noqa: B023
                label = f"{paper_mm} mm, {name}"
                print(
                    f"{label:<22}{len(data):>7}"
                    f"{statistics.median(samples) * 1000:>11.3f}"
                    f"{percentile(samples, 0.99) * 1000:>9.3f}"
                    f"{len(data) * 10 / 9600:>11.3f}{len(data) * 10 / 115200:>13.4f}"
                )

        print("\nvirtual printer: decode + render one 80 mm ticket to PNG (50 runs)")
        vp = VirtualPrinter(Path(tmp) / "png")
        data = render_ticket(CONTENT, 80)
        samples = timed(lambda: vp.feed(data), 50)
        print(
            f"median {statistics.median(samples) * 1000:.1f} ms, "
            f"p99 {percentile(samples, 0.99) * 1000:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
