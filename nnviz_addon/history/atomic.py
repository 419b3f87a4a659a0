"""Writing an output so that its path holds either the earlier file or the new, complete one.

Every file nnviz writes (MP4, PNG, ``.npz``, ``.blend``, metrics JSON) is written to a hidden
temporary name beside the target, ``.<stem>.partial-<pid><suffix>``, checked as the file a user
would open, and only then moved over the target with ``os.replace`` (atomic within one folder).
A failure at any point — a full disk, a check that fails, Ctrl-C — removes the temporary and keeps
the earlier file. A temporary left behind by a process that was killed outright (SIGKILL) is
removed by :func:`sweep` the next time nnviz writes into that folder.

No bpy here: the checks that need Blender are passed in by the scene module.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# ``.<stem>.partial-<pid><suffix>``: only files of this shape are ever swept.
TEMPORARY_NAME = re.compile(r"^\.(?P<stem>.+)\.partial-(?P<pid>\d+)(?P<suffix>\.[A-Za-z0-9]+)$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"  # the last chunk's type and CRC: a PNG cut short lacks it

# The temporaries this process is writing now, so a signal handler can remove them before exiting.
_in_progress: set[Path] = set()


class OutputError(RuntimeError):
    """An output could not be written; the message names the path and says what was kept."""


def temporary_path(target: Path) -> Path:
    """The hidden temporary name beside ``target``. The suffix is lower-case (Blender recognises a
    movie's extension only so on some versions) and '#' is left out (Blender expands it into
    frame numbers)."""
    stem = target.stem.replace("#", "_")
    return target.with_name(f".{stem}.partial-{os.getpid()}{target.suffix.lower()}")


@contextmanager
def temporary(target: Path) -> Iterator[Path]:
    """A temporary path for ``target`` that is removed on leaving, whatever happens."""
    partial = temporary_path(target)
    _in_progress.add(partial)
    try:
        yield partial
    finally:
        partial.unlink(missing_ok=True)
        _in_progress.discard(partial)


def write_atomically(target: str | Path, write: Callable[[Path], object],
                     check: Callable[[Path], object] | None = None) -> Path:
    """``write(temporary)``, then ``check(temporary)`` (raise if the file is not right), then move
    it over ``target``. Any failure is an :class:`OutputError` naming ``target``; the earlier file
    at ``target``, if any, is untouched and the temporary is gone."""
    target = Path(target)
    with temporary(target) as partial:
        try:
            write(partial)
            if not partial.is_file():
                raise OutputError("no file was written")
            if check is not None:
                check(partial)
            os.replace(partial, target)
        except Exception as error:  # each failure is reported the same way, naming the path
            raise OutputError(failure_message(target, error)) from error
    return target


def failure_message(target: Path, error: BaseException) -> str:
    """``<target>: not written (<why>); <what is there now>``."""
    if isinstance(error, OSError) and error.strerror:
        why = f"{error.strerror} [Errno {error.errno}]"
    else:
        why = str(error) or type(error).__name__
    kept = "the earlier file is kept" if target.exists() else "nothing was written"
    return f"{target}: not written ({why}); {kept}"


def remove_temporaries() -> list[Path]:
    """Remove every temporary this process is writing now (for a signal handler about to exit)."""
    removed = []
    for partial in list(_in_progress):
        try:
            partial.unlink()
            removed.append(partial)
        except OSError:
            pass  # already gone, or never created
        _in_progress.discard(partial)
    return removed


def sweep(folder: str | Path) -> list[Path]:
    """Remove the temporaries in ``folder`` left by nnviz processes that are no longer running."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = TEMPORARY_NAME.match(name)
        if match is None:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or _is_running(pid):
            continue
        path = Path(folder) / name
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass  # someone else's, or removed meanwhile
    return removed


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    except OverflowError:
        return False  # not a PID at all
    return True


def check_target(path: Path, option: str) -> None:
    """Refuse up front an output path that can't be written: a directory, or a folder that is
    missing or read-only. ``option`` names it in the message (``--history``)."""
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a directory; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: the folder {folder} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{option} {path}: the file is read-only")


def png_size(path: Path) -> tuple[int, int]:
    """A PNG's (width, height) from its header; a ValueError if it is no PNG or is cut short."""
    with open(path, "rb") as handle:
        head = handle.read(24)
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - len(PNG_END)))
        tail = handle.read()
    if len(head) < 24 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR" or tail != PNG_END:
        raise ValueError("not a complete PNG file")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def check_blend_header(path: Path) -> None:
    """A ValueError unless ``path`` starts as a .blend file does (plain, or zstd/gzip-compressed)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    if not head.startswith((b"BLENDER", b"\x28\xb5\x2f\xfd", b"\x1f\x8b")):
        raise ValueError("not a .blend file (its header does not read 'BLENDER')")
