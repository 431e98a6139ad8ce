"""The committed configuration reference is the one the models generate today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_configuration_md_is_current() -> None:
    generated = subprocess.run(
        [sys.executable, "-m", "config.reference"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == generated, (
        "docs/configuration.md is stale: run `.venv/bin/python -m config.reference "
        "> docs/configuration.md`"
    )


def test_every_field_of_the_reference_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) > 40
    undocumented = [row for row in rows if row.rstrip().endswith("|  |") or "| |" in row]
    assert undocumented == []
