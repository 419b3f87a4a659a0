"""Running a Python script in a fresh interpreter, as the render tests must (without EGL, Workbench
aborts the whole process)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], cwd=cwd,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result
