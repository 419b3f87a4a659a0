"""Keep a command-line tool's own progress readable while Blender renders.

Blender's C code writes a line per frame to the process's standard output while it renders a video
("Video append frame N" on 5.0, "Append frame N", "Fra:N …", "Time: …", "Saved: …" on 4.x), which
buries progress printed from Python; its "Saved:" line names the hidden temporary file an output is
written to before it takes its real name. On a machine without a GPU, Mesa's EGL also writes three
harmless ``EGL_BAD_MATCH`` errors to standard error when Workbench or EEVEE first renders.
:func:`frame_chatter_hidden` points file descriptors 1 and 2 at temporary files for the duration of
a render, hands back a stream to the real standard output for the tool's own lines, and afterwards
passes on whatever Blender said that is neither (warnings and errors stay visible, each on its own
stream). No bpy here: it works on file descriptors only.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, TextIO

# Lines Blender prints once per rendered frame (4.2 – 5.0), optionally after a "00:01.234  render | " stamp.
FRAME_CHATTER = re.compile(r"^(?:[\d:.]+\s+\w+\s+\|\s*)?(?:Video append frame \d+|Append frame \d+|Fra:\d+"
                           r"|Time: |Saved: |\s*$)")
# Mesa's complaint when Blender first asks it for a rendering context without a display.
EGL_NOISE = re.compile(r"^EGL Error \(0x[0-9A-Fa-f]+\): EGL_BAD_MATCH\b")
STDOUT, STDERR = 1, 2
_real_stderr: list[int] = []  # while a block holds Blender's output back: the real standard error


def write_to_real_stderr(line: str) -> None:
    """Write ``line`` to the process's standard error as the terminal sees it, also inside
    :func:`frame_chatter_hidden` (for a message the user must see although the process then exits
    at once, before the held-back output is passed on)."""
    os.write(_real_stderr[-1] if _real_stderr else STDERR, (line + "\n").encode("utf-8", "replace"))


def _flush_c_stdout() -> None:
    """Flush the C library's stdout buffer, so Blender's lines land on the side of the switch they
    were written on; not every platform lets ctypes reach it, and then there is nothing to do."""
    with suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


@contextmanager
def frame_chatter_hidden() -> Iterator[TextIO]:
    """Within the block, Blender's standard output and error go to temporary files; yields a text
    stream to the real standard output for the caller's own progress. On leaving, the lines Blender
    wrote that are not per-frame chatter (:data:`FRAME_CHATTER`) or EGL noise (:data:`EGL_NOISE`)
    are passed on to the stream they were written to, and descriptors 1 and 2 are put back."""
    sys.stdout.flush()
    sys.stderr.flush()
    _flush_c_stdout()
    try:
        real_out, real_err = os.dup(STDOUT), os.dup(STDERR)
    except OSError:  # no descriptor 1 or 2 (a detached process): nothing to hide
        yield sys.stdout
        return
    with tempfile.TemporaryFile() as out_sink, tempfile.TemporaryFile() as err_sink, \
            os.fdopen(real_out, "w", buffering=1, encoding="utf-8", errors="replace") as progress:
        os.dup2(out_sink.fileno(), STDOUT)
        os.dup2(err_sink.fileno(), STDERR)
        _real_stderr.append(real_err)
        try:
            yield progress
        finally:
            _real_stderr.pop()
            sys.stdout.flush()  # Python's own writes to descriptors 1 and 2 in the block belong in the sinks
            sys.stderr.flush()
            _flush_c_stdout()
            os.dup2(real_out, STDOUT)
            os.dup2(real_err, STDERR)
            os.close(real_err)
            # passed on even when the block raised: what Blender said may explain why
            for sink, noise, stream in ((out_sink, FRAME_CHATTER, sys.stdout), (err_sink, EGL_NOISE, sys.stderr)):
                kept = _kept(sink, noise)
                if kept:
                    print("\n".join(kept), file=stream, flush=True)


def _kept(sink: IO[bytes], noise: re.Pattern[str]) -> list[str]:
    """The lines written to ``sink`` that ``noise`` does not match."""
    sink.seek(0)
    return [line for line in sink.read().decode("utf-8", "replace").splitlines() if not noise.match(line)]
