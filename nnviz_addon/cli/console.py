"""Keep a command-line tool's own progress readable while Blender renders.

Blender's C code writes a line per frame to the process's standard output while it renders a video
("Video append frame N" on 5.0, "Append frame N", "Fra:N …", "Time: …", "Saved: …" on 4.x), which
buries progress printed from Python. :func:`frame_chatter_hidden` points file descriptor 1 at a
temporary file for the duration of a render, hands back a stream to the real standard output for
the tool's own lines, and afterwards passes on whatever Blender said that is not per-frame chatter
(warnings and errors stay visible). No bpy here: it works on file descriptors only.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TextIO

# Lines Blender prints once per rendered frame (4.2 – 5.0), optionally after a "00:01.234  render | " stamp.
FRAME_CHATTER = re.compile(r"^(?:[\d:.]+\s+\w+\s+\|\s*)?(?:Video append frame \d+|Append frame \d+|Fra:\d+"
                           r"|Time: |Saved: |\s*$)")
STDOUT = 1


def _flush_c_stdout() -> None:
    """Flush the C library's stdout buffer, so Blender's lines land on the side of the switch they
    were written on; not every platform lets ctypes reach it, and then there is nothing to do."""
    with suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


@contextmanager
def frame_chatter_hidden() -> Iterator[TextIO]:
    """Within the block, Blender's standard output goes to a temporary file; yields a text stream to
    the real standard output for the caller's own progress. On leaving, the lines Blender wrote that
    are not per-frame chatter are written to standard output, and descriptor 1 is put back."""
    sys.stdout.flush()
    _flush_c_stdout()
    try:
        real = os.dup(STDOUT)
    except OSError:  # no descriptor 1 (a detached process): nothing to hide
        yield sys.stdout
        return
    with tempfile.TemporaryFile() as sink, \
            os.fdopen(real, "w", buffering=1, encoding="utf-8", errors="replace") as progress:
        os.dup2(sink.fileno(), STDOUT)
        try:
            yield progress
        finally:
            sys.stdout.flush()  # Python's own writes to descriptor 1 made in the block belong in the sink
            _flush_c_stdout()
            os.dup2(real, STDOUT)
        sink.seek(0)
        kept = [line for line in sink.read().decode("utf-8", "replace").splitlines()
                if not FRAME_CHATTER.match(line)]
    if kept:
        print("\n".join(kept), flush=True)
