"""Reading a history ``.npz`` as data from anywhere: every claim checked before it is trusted.

A file may come from another machine, another program or a bad disk. Before anything is
allocated, the size each ``.npy`` header claims is compared with what the archive holds (a tiny
file claiming a 745 GiB array is refused by name); after reading, every array's dtype and shape
is checked against the format (see :mod:`.history`), so what reaches the scene is what it can
draw. Each failure is a :class:`HistoryFileError` with one line naming the array (and record).
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

# More than a run may record (config.MAX_RECORDED_BYTES) with room for its series and statics.
MAX_LOADED_BYTES = 8 * 2**30
GROUPS = ("param", "grad", "metric", "series", "static")
TEXT_KEYS = ("name", "structure_json", "config_json")
OPTIONAL_TEXT_KEYS = ("graph_json",)


class HistoryFileError(ValueError):
    """A history file that can't be used; the message names the array (History.load adds the path)."""


def _size(size: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{int(size)} bytes"


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
                raise HistoryFileError(f"{key!r} claims a {dtype} array of shape {shape} ({_size(claimed)}) but the "
                                       f"file holds {_size(info.file_size - header)} of it")
            total += claimed
    if total > MAX_LOADED_BYTES:
        raise HistoryFileError(f"its arrays would take {_size(total)} in memory; nnviz loads at most "
                               f"{_size(MAX_LOADED_BYTES)}")


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
    """Dtypes, shapes, record counts and finiteness, as the format and the scene need them."""
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
    steps = arrays["steps"]
    if steps.ndim != 1 or steps.dtype.kind not in "iu":
        raise HistoryFileError(f"'steps' must be a 1-D integer array, got {steps.dtype} of shape {steps.shape}")
    records = len(steps)
    if records < 1:
        raise HistoryFileError("'steps' is empty: a history holds at least one record")
    groups: dict[str, dict[str, np.ndarray]] = {group: {} for group in GROUPS}
    for key, array in arrays.items():
        group, slash, name = key.partition("/")
        if slash and group in groups:
            groups[group][name] = array
    _real_records("loss", arrays["loss"], records, per_record=())
    for name, array in groups["metric"].items():
        _real_records(f"metric/{name}", array, records, per_record=())
    for name, array in groups["param"].items():
        _real_records(f"param/{name}", array, records)
    if not groups["param"]:
        raise HistoryFileError("it holds no parameters ('param/...')")
    for name, array in groups["grad"].items():
        if name not in groups["param"]:
            raise HistoryFileError(f"'grad/{name}' has no parameter 'param/{name}'")
        _real_records(f"grad/{name}", array, records, per_record=groups["param"][name].shape[1:])
    missing = sorted(set(groups["param"]) - set(groups["grad"]))
    if missing:
        raise HistoryFileError(f"'param/{missing[0]}' has no gradient 'grad/{missing[0]}'")
    for name, array in groups["series"].items():
        if array.dtype.kind not in "biuf" or array.shape[:1] != (records,):
            raise HistoryFileError(f"'series/{name}' must be real numbers, {records} records first; got "
                                   f"{array.dtype} of shape {array.shape}")
    for name, array in groups["param"].items():
        finite = np.isfinite(array.reshape(records, -1)).all(axis=1)
        if not finite.all():
            bad = int(np.argmin(finite))
            raise HistoryFileError(f"'param/{name}' is not finite (inf or nan) in record {bad} "
                                   f"(step {int(steps[bad])}); the scene can't draw it")


def _real_records(key: str, array: np.ndarray, records: int, per_record: tuple[int, ...] | None = None) -> None:
    """``array`` is real floating point, ``records`` first (then ``per_record``, when given)."""
    if array.dtype.kind != "f":
        raise HistoryFileError(f"{key!r} must hold real floating-point numbers, got {array.dtype}")
    if array.shape[:1] != (records,) or (per_record is not None and array.shape[1:] != tuple(per_record)):
        wanted = f"({records}, {', '.join(map(str, per_record))})" if per_record is not None else f"({records}, ...)"
        raise HistoryFileError(f"{key!r} has shape {array.shape}, expected {wanted.replace(', )', ',)')}")


def check_structure(structure: list, params: Mapping[str, np.ndarray]) -> None:
    """Each layer names parameters the file holds."""
    for layer in structure:
        for role, key in (("weight", layer.weight), ("bias", layer.bias)):
            if key is not None and key not in params:
                raise HistoryFileError(f"layer {layer.name!r} names {role} {key!r}, which the file does not hold")


def check_graph(keys: list[str], params: Mapping[str, np.ndarray]) -> None:
    """Each module of the graph names parameters the file holds."""
    for key in keys:
        if key not in params:
            raise HistoryFileError(f"'graph_json' names parameter {key!r}, which the file does not hold")
