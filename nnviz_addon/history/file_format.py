"""Reading a history ``.npz`` as data from anywhere: every claim checked before it is trusted.

A file may come from another machine, another program or a bad disk. Before anything is
allocated, the size each ``.npy`` header claims is compared with what the archive holds (a tiny
file claiming a 745 GiB array is refused by name); after reading, every array's dtype and shape
is checked against the format by the checks every History passes (:mod:`.checks`), so what
reaches the scene is what it can draw. Each failure is a :class:`HistoryFileError` with one line
naming the array (and record).
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .checks import MAX_LOADED_BYTES, HistoryError, size_text

TEXT_KEYS = ("name", "structure_json", "config_json")
OPTIONAL_TEXT_KEYS = ("graph_json",)


class HistoryFileError(HistoryError):
    """A history file that can't be used; the message names the array (History.load adds the path)."""


def check_claimed_sizes(path: Path) -> None:
    """Refuse an archive whose ``.npy`` headers claim more data than it holds, or more in all than
    :data:`MAX_LOADED_BYTES` — read from the headers alone, before any array is allocated."""
    total = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            key = info.filename[:-len(".npy")]
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _fortran, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, _fortran, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    raise HistoryFileError(f"{key!r}: .npy format version {version} is not one nnviz writes")
                header = member.tell()
            claimed = math.prod(shape) * dtype.itemsize
            if claimed > info.file_size - header:
                raise HistoryFileError(f"{key!r} claims a {dtype} array of shape {shape} ({size_text(claimed)}) "
                                       f"but the file holds {size_text(info.file_size - header)} of it")
            total += claimed
    if total > MAX_LOADED_BYTES:
        raise HistoryFileError(f"its arrays would take {size_text(total)} in memory; nnviz loads at most "
                               f"{size_text(MAX_LOADED_BYTES)}")


def check_version(arrays: Mapping[str, np.ndarray], wanted: tuple[int, ...]) -> None:
    """The format version: an integer scalar, one of ``wanted`` (1.5 is not 1)."""
    if "format_version" not in arrays:
        raise HistoryFileError("not an nnviz history file (no 'format_version')")
    version = arrays["format_version"]
    if version.shape != () or version.dtype.kind not in "iu":
        raise HistoryFileError(f"'format_version' must be an integer scalar, got {version.dtype} of shape "
                               f"{version.shape}")
    if int(version) not in wanted:
        readable = " or ".join(str(v) for v in wanted)
        raise HistoryFileError(f"history format version {int(version)}, this nnviz reads {readable}")


def check_arrays(arrays: Mapping[str, np.ndarray]) -> None:
    """What a History needs to be made from the arrays at all: the text scalars, ``steps`` and
    ``loss``. Everything else is :func:`.checks.check_history`'s, run on the History made."""
    for key in TEXT_KEYS:
        if key not in arrays:
            raise HistoryFileError(f"not an nnviz history file (no {key!r})")
        if arrays[key].shape != () or arrays[key].dtype.kind != "U":
            raise HistoryFileError(f"{key!r} must be a text scalar, got {arrays[key].dtype} of shape "
                                   f"{arrays[key].shape}")
    for key in OPTIONAL_TEXT_KEYS:
        if key in arrays and (arrays[key].shape != () or arrays[key].dtype.kind != "U"):
            raise HistoryFileError(f"{key!r} must be a text scalar, got {arrays[key].dtype} of shape "
                                   f"{arrays[key].shape}")
    for key in ("steps", "loss"):
        if key not in arrays:
            raise HistoryFileError(f"not an nnviz history file (no {key!r})")
