"""``set_num_threads`` / ``get_num_threads``, torch's names for the engine's thread count: here,
the threads of the BLAS numpy runs its matrix products on, the only part of an engine step that
uses more than one.

numpy has no call for this, so the BLAS is reached through ctypes: the OpenBLAS that numpy's
wheels bundle beside the package (``libopenblas64_p`` in numpy 1.x, ``libscipy_openblas64_`` in
numpy 2.x). A numpy without a bundled OpenBLAS (built on another BLAS, or on none, whose matrix
products then run on one thread) leaves both calls without effect: ``get_num_threads`` says 1.

Why a model would want fewer threads: a transformer of d_model 32 multiplies (512, 32) by
(32, 96) matrices, and OpenBLAS splitting such a product over two threads made it slower, not
faster (27 µs on one thread, 46 µs on two; the tiny GPT's whole step went from 2.6 to 2.9 ms).
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np

# Where numpy's wheels put their bundled libraries: Linux and Windows, then macOS.
_LIBRARY_FOLDERS = ("../numpy.libs", ".libs", ".dylibs")
# OpenBLAS's thread calls, by the symbol prefix and suffix each numpy line's build gives them.
_SYMBOL_PREFIXES = ("scipy_openblas", "openblas")
_SYMBOL_SUFFIXES = ("64_", "")


@functools.cache
def _openblas_calls() -> tuple[ctypes._CFuncPtr, ctypes._CFuncPtr] | None:
    """(set, get) of the OpenBLAS numpy loaded, or None where there is none to reach."""
    package = Path(np.__file__).parent
    for folder in _LIBRARY_FOLDERS:
        for path in sorted((package / folder).glob("*openblas*")):
            try:
                library = ctypes.CDLL(str(path))  # already loaded by numpy: this opens the same copy
            except OSError:
                continue
            for prefix in _SYMBOL_PREFIXES:
                for suffix in _SYMBOL_SUFFIXES:
                    setter = getattr(library, f"{prefix}_set_num_threads{suffix}", None)
                    getter = getattr(library, f"{prefix}_get_num_threads{suffix}", None)
                    if setter is not None and getter is not None:
                        setter.argtypes, setter.restype = [ctypes.c_int], None
                        getter.argtypes, getter.restype = [], ctypes.c_int
                        return setter, getter
    return None


def set_num_threads(count: int) -> None:
    """Run numpy's matrix products on ``count`` threads (process-wide, like torch's)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"set_num_threads expects a positive integer, got {count!r}")
    calls = _openblas_calls()
    if calls is not None:
        calls[0](count)


def get_num_threads() -> int:
    """How many threads numpy's matrix products run on."""
    calls = _openblas_calls()
    return 1 if calls is None else int(calls[1]())
