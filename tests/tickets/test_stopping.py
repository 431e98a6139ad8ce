"""Every long-running process stops on SIGINT, SIGTERM and SIGHUP whatever it inherited, and
takes its children with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import PATIENCE, wait_until

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by init) counts as gone
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return fh.read().split(") ", 1)[1][0] != "Z"


def test_a_child_dies_with_its_parent_even_killed_by_sigkill() -> None:
    """GIVEN a parent that started a child with ``die_with_parent`` (as the demo starts its
    server and virtual printer) WHEN the parent is killed with SIGKILL (no clean-up runs) THEN
    the child is stopped too, and no process is left holding the demo's ports."""
    parent_code = textwrap.dedent(
        """
        import subprocess, sys, time
        from tickets.stopping import die_with_parent
        child = subprocess.Popen(
            [sys.executable, "-c", "import time\\nwhile True: time.sleep(1)"],
            preexec_fn=die_with_parent,
            start_new_session=True,
        )
        print(child.pid, flush=True)
        while True:
            time.sleep(1)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert alive(child)
        parent.kill()
        parent.wait(timeout=PATIENCE)
        assert wait_until(lambda: not alive(child)), "the child outlived its parent"
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)
        parent.stdout.close()
