"""Blender's line per rendered frame (and EGL's harmless noise) are held back while the CLI's own
progress and Blender's warnings and errors get through, each on its own stream."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHATTY = """
import os, sys
sys.path.insert(0, sys.argv[1])
from nnviz_addon.cli.console import frame_chatter_hidden
print("before", flush=True)
with frame_chatter_hidden() as progress:
    for frame in (1, 2):
        os.write(1, f"00:01.250  render           | Video append frame {frame}\\nFra:{frame} Mem:1M\\n".encode())
        os.write(1, b"Append frame 3\\nTime: 00:01.20 (Saving: 00:00.00)\\n\\n")
        print(f"nnviz: frame {frame}/2", file=progress, flush=True)
    os.write(2, b"EGL Error (0x3009): EGL_BAD_MATCH: Arguments are inconsistent\\n" * 3)
    os.write(1, b"Warning: something worth seeing\\n")
    os.write(2, b"Error: a real one\\n")
print("after", flush=True)
"""


def test_frame_chatter_is_hidden_and_the_rest_of_blenders_output_kept():
    result = subprocess.run([sys.executable, "-c", CHATTY, str(ROOT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["before", "nnviz: frame 1/2", "nnviz: frame 2/2",
                                          "Warning: something worth seeing", "after"]
    assert result.stderr.splitlines() == ["Error: a real one"]  # EGL's harmless complaint held back
