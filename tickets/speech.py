"""Speech synthesis shared by the devices that talk: espeak-ng, offline, into a WAV file.

The board announces calls with it, the kiosk reads its screens aloud with it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def speak_to_wav(text: str, voice: str, words_per_minute: int, path: Path) -> None:
    """espeak-ng, offline, into a WAV file; raises OSError when it fails."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise OSError("espeak-ng is not installed")
    done = subprocess.run(
        [exe, "-v", voice, "-s", str(words_per_minute), "-w", str(path), text],
        capture_output=True,
        timeout=30,
    )
    if done.returncode != 0 or not path.exists() or path.stat().st_size <= 44:
        raise OSError(f"espeak-ng could not speak {text!r}: {done.stderr.decode().strip()}")
