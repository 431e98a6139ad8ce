"""What Arabic costs the appliances: memory and time of shaping, bytes of a printed line.

1. Resident memory (VmRSS) of a fresh Python process before and after the shaping libraries
   (arabic-reshaper, python-bidi) are imported and one sentence is shaped, as a kiosk or a
   board does the first time it shows Arabic (they are not imported before: a French kiosk
   never loads them). Median of several fresh processes.
2. Time to shape and reorder one line of a label (tickets.rtl), median of many.
3. Bytes sent to the printer for one line of text in the code page and for the same line
   drawn as a GS v 0 picture (printer/raster.py), and the whole reference ticket in French and
   in Arabic.

    python bench/bench_rtl.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_printer import CONTENT as TICKET  # noqa: E402  (bench/ is on sys.path)

from printer.ticket import render_ticket  # noqa: E402
from tickets import rtl  # noqa: E402

SENTENCE = "تفضّل بالجلوس وراقب الشاشة: سيظهر رقمك عليها ويُنادى به."
PROBE = """
import sys
sys.path.insert(0, {root!r})
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
before = rss()
from tickets import rtl
rtl.display_line({sentence!r})
print(before, rss())
"""


def memory(runs: int = 5) -> tuple[float, float]:
    deltas, bases = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(root=str(ROOT), sentence=SENTENCE)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        before, after = int(out[0]), int(out[1])
        bases.append(before / 1024)
        deltas.append((after - before) / 1024)
    return statistics.median(bases), statistics.median(deltas)


def shaping_time(n: int = 2000) -> float:
    rtl.display_line(SENTENCE)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        rtl.visual_line(rtl.shape(SENTENCE))
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def line_bytes() -> list[tuple[str, int]]:
    from printer import raster
    from printer.ticket import _writer as writer  # python-escpos with the ticket's profile

    text = writer(80)
    text.textln("Personnes avant vous : 3")
    drawn = writer(80)
    for picture in raster.render_lines("عدد الأشخاص أمامك: 3", 576, 24, False) or []:
        drawn.image(picture, center=False)
    wide = writer(80)
    for picture in raster.render_lines(SENTENCE, 576, 24, False) or []:
        wide.image(picture, center=False)
    fr = render_ticket(TICKET, 80)
    ar = render_ticket(replace(TICKET, lang="ar", service_name="الحالة المدنية"), 80)
    return [
        ("one short line as text (French)", len(text.output)),
        ("the same line in Arabic, drawn (GS v 0)", len(drawn.output)),
        ("a long Arabic sentence, drawn on 2 lines", len(wide.output)),
        ("reference ticket, French (text)", len(fr)),
        ("reference ticket, Arabic (6 drawn lines)", len(ar)),
    ]


def main() -> int:
    base, delta = memory()
    print(f"Python process {base:.1f} MB; importing the shaping libraries and shaping one")
    print(f"  sentence adds {delta:.1f} MB resident (median of 5 fresh processes)")
    print(f"Shaping and reordering one line: {shaping_time():.0f} µs (median)")
    for what, n in line_bytes():
        print(f"  {what:<44} {n:6d} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
