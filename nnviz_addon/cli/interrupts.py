"""Ctrl-C (SIGINT) and SIGTERM on the command line: a stop after the current training step, or an
exit at once that leaves no half-written file."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from ..history import atomic
from .console import write_to_real_stderr


class Interrupts:
    """Ctrl-C (SIGINT) and SIGTERM.

    While training (``deferred``) a signal only asks training to stop after the current step, so
    the records kept are saved as a diverged run's are. At any other time — building the scene,
    saving, rendering, where Blender's render loop runs Python only between frames and ignores
    what a handler raises — the temporaries being written are removed and the process exits at
    once with 128 + the signal's number; the earlier outputs stay as they were.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: int | None = None
        self.deferred = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        self._previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}
        return self

    def __exit__(self, *_exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def stop_requested(self) -> bool:
        return self.received is not None

    @property
    def exit_code(self) -> int:
        return 128 + (self.received or 0)

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received else ""

    def _handle(self, number: int, _frame: Any) -> None:
        self.received = number
        if self.deferred:
            return
        removed = ", ".join(str(path) for path in atomic.remove_temporaries()) or "nothing unfinished"
        sys.stderr.flush()
        write_to_real_stderr(f"nnviz: error: stopped by {self.name}; removed {removed}; earlier files are kept")
        os._exit(self.exit_code)  # the only way out of Blender's render loop; nothing is left to save
